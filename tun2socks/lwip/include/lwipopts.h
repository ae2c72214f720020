/* lwIP configuration for udptun's tun2socks: lwIP runs on one event-loop thread (NO_SYS=1)
 * behind a TUN device, as a TCP/UDP endpoint for every destination. Only IP, ICMP, UDP and
 * TCP are built: no ARP/Ethernet, DHCP, DNS, sockets or netconn. */
#ifndef UDPTUN_LWIPOPTS_H
#define UDPTUN_LWIPOPTS_H

#define NO_SYS 1
#define LWIP_TIMERS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_CALLBACK_API 1

/* Memory: the C heap. MEMP_NUM_* are then no limits: udptun caps connections and flows
 * in its own code. */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 8

/* Protocols */
#define LWIP_IPV4 1
#define LWIP_IPV6 1
#define LWIP_ARP 0
#define LWIP_ETHERNET 0
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define LWIP_IPV6_MLD 0
#define LWIP_IPV6_AUTOCONFIG 0
#define LWIP_IPV6_DHCP6 0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT 0
#define LWIP_ND6_QUEUEING 0
#define LWIP_NETIF_LOOPBACK 0
#define LWIP_HAVE_LOOPIF 0
#define LWIP_STATS 0

/* Fragments in both families (large UDP datagrams arrive fragmented). */
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define LWIP_IPV6_REASS 1
#define LWIP_IPV6_FRAG 1
#define IPV6_FRAG_COPYHEADER 1 /* required on 64-bit */
#define IP_REASS_MAX_PBUFS 128

/* TCP tuned for throughput over a local TUN: large windows with scaling, SACK out. */
/* The largest MSS we support (MTU 9000); lwIP uses min(TCP_MSS, netif MTU - 40) per
 * connection (TCP_CALCULATE_EFF_SEND_MSS), so MTU 1500 still gets 1460. */
#define TCP_MSS 8960
#define TCP_CALCULATE_EFF_SEND_MSS 1
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 4
#define TCP_WND (512 * 1024)
#define TCP_SND_BUF (512 * 1024)
/* A u16 in lwIP: must stay 4 MSS below 0xFFFF (init.c sanity check). */
#define TCP_SNDLOWAT (0xFFFF - 4 * TCP_MSS - 1)
#define TCP_SND_QUEUELEN 2048
#define TCP_SNDQUEUELOWAT (TCP_SND_QUEUELEN / 2)
#define LWIP_TCP_SACK_OUT 1
#define TCP_QUEUE_OOSEQ 1
#define TCP_LISTEN_BACKLOG 0
#define LWIP_TCP_KEEPALIVE 1

/* Packets the kernel writes into a TUN are already checksummed: checking them again is
 * wasted work. Generation stays on: the kernel checks what we write. */
#define CHECKSUM_CHECK_IP 0
#define CHECKSUM_CHECK_UDP 0
#define CHECKSUM_CHECK_TCP 0
#define CHECKSUM_CHECK_ICMP 0
#define CHECKSUM_CHECK_ICMP6 0
#define CHECKSUM_GEN_IP 1
#define CHECKSUM_GEN_UDP 1
#define CHECKSUM_GEN_TCP 1
#define CHECKSUM_GEN_ICMP 1
#define CHECKSUM_GEN_ICMP6 1

/* IPv6 output goes to the default netif (the TUN) whatever the destination: the netif has
 * no IPv6 prefix of its own for ip6_route to match. */
#define LWIP_HOOK_IP6_ROUTE(src, dest) netif_default

#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_SINGLE_NETIF 0

#endif /* UDPTUN_LWIPOPTS_H */
