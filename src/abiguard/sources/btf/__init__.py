"""The BTF reader: raw, split and ELF .BTF blobs -> a lazily decoded TypeGraph."""

from .reader import ParsedBtf, btf_from_elf, elf_section, parse_btf, read_btf, read_btf_file

__all__ = ["ParsedBtf", "btf_from_elf", "elf_section", "parse_btf", "read_btf", "read_btf_file"]
