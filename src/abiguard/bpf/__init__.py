"""The CO-RE checker: BPF objects' .BTF.ext relocations resolved offline against kernel BTFs, as libbpf would."""
