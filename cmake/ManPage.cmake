# cmake -DPROGRAM=path [-DEMULATOR=qemu...] -DOUTPUT=page.1 -P ManPage.cmake
# Writes PROGRAM's man page (its --manpage output); fails the build if the program cannot.
execute_process(COMMAND ${EMULATOR} ${PROGRAM} --manpage
                OUTPUT_FILE ${OUTPUT}.tmp RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUTPUT}.tmp)
  message(FATAL_ERROR "${PROGRAM} --manpage failed (${rc}): ${err}")
endif()
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
