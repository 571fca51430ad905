/* abiguard stand-in for glibc's ppc64 ELFv1 list of __stub_ function macros (see ../README):
   nothing in it affects a type or a layout. */
