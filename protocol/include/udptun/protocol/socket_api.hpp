#pragma once
// The BSD socket types and byte-order/text helpers (sockaddr_in/in6/storage, inet_pton,
// htons, getaddrinfo) from wherever the platform declares them: Winsock 2 on Windows, the
// POSIX headers elsewhere. Include this instead of <sys/socket.h>/<arpa/inet.h>/<netdb.h>.
#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
// clang-format off
#include <winsock2.h>  // before ws2tcpip.h and windows.h
#include <ws2tcpip.h>
// clang-format on
#else
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif
