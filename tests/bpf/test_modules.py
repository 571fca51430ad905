"""Modules of a kernel package, read only when vmlinux lacks what a check needs (as libbpf searches them).

Real Debian package (skipped when absent): nf_tables is a module there, so `struct nft_ctx` and
`nft_do_chain` are not in vmlinux's BTF; bpftool's raw dump of the package's vmlinux BTF confirms it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from abiguard.bpf.findings import Check
from abiguard.bpf.run import check_core
from abiguard.sources.shipped import read_shipped

from .conftest import require_tool

MODULE_PROG = """
struct nft_ctx { unsigned char family; } __attribute__((preserve_access_index));
SEC("kprobe/nft_do_chain")
int on_kprobe(struct nft_ctx *c) { return c->family; }
SEC("fentry/nft_do_chain")
int on_chain(unsigned long long *ctx) { return 0; }
"""


@pytest.fixture
def amd64_61(kernel_packages: list[Path]) -> Path:
    found = [p for p in kernel_packages if "6.1.0-" in p.name and p.name.endswith("_amd64.deb")]
    if not found:
        pytest.skip("no 6.1 amd64 kernel package cached (scripts/kernels.sh)")
    return found[0]


def test_module_types_and_functions_from_the_package(bpf_prog, amd64_61: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    vmlinux = tmp_path / "vmlinux.btf"
    vmlinux.write_bytes(read_shipped(amd64_61, amd64_61.read_bytes()).btf)
    dump = subprocess.run(
        [require_tool("bpftool"), "btf", "dump", "file", str(vmlinux), "format", "raw"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "STRUCT 'nft_ctx'" not in dump and "FUNC 'nft_do_chain'" not in dump  # module-only, per bpftool

    obj = bpf_prog(MODULE_PROG)
    on_package, on_vmlinux = check_core([obj], [amd64_61, vmlinux]).verdicts
    # the relocation resolves in nf_tables' split BTF; without the modules it cannot
    (relo,) = on_package.results
    assert relo.status.name == "OK" and "nft_ctx.family" in relo.target
    assert on_package.load_checked
    attach = [f for f in on_package.load if f.check == Check.ATTACH]
    assert attach == []  # fentry and kprobe targets found in nf_tables
    assert not on_vmlinux.relocates
    vm_attach = sorted((f.section, f.outcome.name) for f in on_vmlinux.load if f.check == Check.ATTACH)
    assert vm_attach == [("fentry/nft_do_chain", "FAILS"), ("kprobe/nft_do_chain", "UNKNOWN")]
    # the package's modules were read once and cached by the package digest
    entries = [p.name.split("-")[0] for p in (tmp_path / "cache" / "abiguard" / "core").iterdir()]
    assert entries.count("mods") == 1


def test_module_file_on_its_package_as_base(bpf_prog, amd64_61: Path, tmp_path: Path):
    from abiguard.sources.shipped.deb import kernel_modules

    module = next(ko for name, ko in kernel_modules(amd64_61.read_bytes(), str(amd64_61)) if name == "nf_tables")
    ko = tmp_path / "nf_tables.ko"
    ko.write_bytes(module)
    packed = tmp_path / "nf_tables.ko.xz"
    import lzma

    packed.write_bytes(lzma.compress(module, lzma.FORMAT_XZ))
    obj = bpf_prog(MODULE_PROG)
    result = check_core([obj], [ko, packed], base=amd64_61, use_cache=False)
    for verdict in result.verdicts:
        (relo,) = verdict.results
        assert relo.status.name == "OK" and "nft_ctx.family" in relo.target


# vmlinux has `struct nf_conntrack_helper` only as a forward and no FUNC gss_wrap, but it holds both
# strings, so the modules that define them (act_ct/nf_conntrack, auth_rpcgss) name them by vmlinux's
# string offsets: their own string sections do not hold the names.
BASE_NAMED_PROG = """
struct nf_conntrack_helper { char name[16]; } __attribute__((preserve_access_index));
SEC("kprobe/nf_conntrack_helper_register")
int on_helper(struct nf_conntrack_helper *h) { return h->name[1]; }
SEC("fentry/gss_wrap")
int on_wrap(unsigned long long *ctx) { return (int)ctx[0]; }
"""


def test_module_types_named_by_vmlinux_strings(bpf_prog, amd64_61: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (verdict,) = check_core([bpf_prog(BASE_NAMED_PROG)], [amd64_61]).verdicts
    (relo,) = verdict.results
    assert relo.status.name == "OK" and "nf_conntrack_helper.name" in relo.target, relo
    assert [f for f in verdict.load if f.check == Check.ATTACH] == []


# nf_conntrack's kfuncs (6.1 and 6.12 mark no kfuncs with tags: "unknown", not "fails"), an fentry on one
# of its functions by plain name and one by module:function reading past its last argument.
CONNTRACK_PROG = """
struct xdp_md { __u32 data; __u32 data_end; __u32 data_meta; __u32 ingress_ifindex; __u32 rx_queue_index; };
struct bpf_sock_tuple { struct { __be32 saddr; __be32 daddr; __be16 sport; __be16 dport; } ipv4; };
struct nf_conn { int unused; };
struct bpf_ct_opts { __s32 netns_id; __s32 error; __u8 l4proto; } __attribute__((preserve_access_index));
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *bpf_tuple, __u32 tuple__sz,
                                         struct bpf_ct_opts *opts, __u32 opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;
SEC("xdp")
int lookup(struct xdp_md *ctx)
{
    struct bpf_sock_tuple tup = {};
    struct bpf_ct_opts opts = {};
    struct nf_conn *ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, bpf_core_type_size(struct bpf_ct_opts));
    if (ct)
        bpf_ct_release(ct);
    return 0;
}
SEC("fentry/nf_conntrack_in")
int on_in(unsigned long long *ctx) { return (int)ctx[1]; }
SEC("fentry/nf_conntrack:nf_ct_get_tuplepr")
int on_tuple(unsigned long long *ctx) { return (int)ctx[5]; }
"""
MODULE_PROGS = {"conntrack": CONNTRACK_PROG, "nftables": MODULE_PROG, "basenamed": BASE_NAMED_PROG}
