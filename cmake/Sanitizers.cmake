# UDPTUN_SANITIZE=address,undefined builds everything (ours and lwIP) with those sanitizers,
# and makes UBSan findings fatal so a test run fails on them.
if(UDPTUN_SANITIZE)
  add_compile_options(-fsanitize=${UDPTUN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${UDPTUN_SANITIZE})
endif()
