"""The C header reader: libclang translation units -> types and constants per target -> one merged TypeGraph."""
