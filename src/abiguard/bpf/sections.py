"""libbpf's SEC() conventions: which program type and expected attach type a section name implies.

The table follows libbpf's section_defs (libbpf.c): a name ending in `+` matches itself exactly or with
a `/extras` suffix, a name ending in `/` matches as a prefix, anything else only exactly; the first
matching row wins. Prog types are enum bpf_prog_type names without `BPF_PROG_TYPE_`, attach types full
enum bpf_attach_type names. `target` says how check 4 reads the attach target from the suffix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SecDef:
    pattern: str
    prog_type: str
    attach_type: str  # "" when libbpf sets none
    target: str = ""  # "func", "btf_trace", "tracepoint", "lsm", "iter", "kprobe", "ksyscall", ""

    @property
    def prog_enum(self) -> str:
        return "BPF_PROG_TYPE_" + self.prog_type

    def matches(self, name: str) -> bool:
        pat = self.pattern
        if pat.endswith("/"):
            return name.startswith(pat)
        if pat.endswith("+"):
            stem = pat[:-1]
            return name == stem or name.startswith(stem + "/")
        return name == pat

    def target_of(self, name: str) -> str:
        """What follows `type/` in the section name ("" when nothing does)."""
        name = name.removeprefix("?")
        stem = self.pattern.rstrip("+/")
        return name[len(stem) + 1 :] if name.startswith(stem + "/") else ""


def _defs(rows: str) -> tuple[SecDef, ...]:
    out = []
    for line in rows.strip().splitlines():
        pattern, prog, attach, *target = line.split()
        out.append(SecDef(pattern, prog, "" if attach == "-" else attach, target[0] if target else ""))
    return tuple(out)


SECTION_DEFS = _defs("""
socket SOCKET_FILTER -
sk_reuseport/migrate SK_REUSEPORT BPF_SK_REUSEPORT_SELECT_OR_MIGRATE
sk_reuseport SK_REUSEPORT BPF_SK_REUSEPORT_SELECT
kprobe+ KPROBE - kprobe
uprobe+ KPROBE -
uprobe.s+ KPROBE -
kretprobe+ KPROBE - kprobe
uretprobe+ KPROBE -
uretprobe.s+ KPROBE -
kprobe.multi+ KPROBE BPF_TRACE_KPROBE_MULTI
kretprobe.multi+ KPROBE BPF_TRACE_KPROBE_MULTI
kprobe.session+ KPROBE BPF_TRACE_KPROBE_SESSION
uprobe.multi+ KPROBE BPF_TRACE_UPROBE_MULTI
uretprobe.multi+ KPROBE BPF_TRACE_UPROBE_MULTI
uprobe.session+ KPROBE BPF_TRACE_UPROBE_SESSION
uprobe.multi.s+ KPROBE BPF_TRACE_UPROBE_MULTI
uretprobe.multi.s+ KPROBE BPF_TRACE_UPROBE_MULTI
uprobe.session.s+ KPROBE BPF_TRACE_UPROBE_SESSION
ksyscall+ KPROBE - ksyscall
kretsyscall+ KPROBE - ksyscall
usdt+ KPROBE -
usdt.s+ KPROBE -
tc/ingress SCHED_CLS BPF_TCX_INGRESS
tc/egress SCHED_CLS BPF_TCX_EGRESS
tcx/ingress SCHED_CLS BPF_TCX_INGRESS
tcx/egress SCHED_CLS BPF_TCX_EGRESS
tc SCHED_CLS -
classifier SCHED_CLS -
action SCHED_ACT -
netkit/primary SCHED_CLS BPF_NETKIT_PRIMARY
netkit/peer SCHED_CLS BPF_NETKIT_PEER
tracepoint+ TRACEPOINT - tracepoint
tp+ TRACEPOINT - tracepoint
tracepoint.s+ TRACEPOINT - tracepoint
tp.s+ TRACEPOINT - tracepoint
raw_tracepoint+ RAW_TRACEPOINT - tracepoint
raw_tp+ RAW_TRACEPOINT - tracepoint
raw_tracepoint.s+ RAW_TRACEPOINT - tracepoint
raw_tp.s+ RAW_TRACEPOINT - tracepoint
raw_tracepoint.w+ RAW_TRACEPOINT_WRITABLE - tracepoint
raw_tp.w+ RAW_TRACEPOINT_WRITABLE - tracepoint
tp_btf+ TRACING BPF_TRACE_RAW_TP btf_trace
tp_btf.s+ TRACING BPF_TRACE_RAW_TP btf_trace
fentry+ TRACING BPF_TRACE_FENTRY func
fmod_ret+ TRACING BPF_MODIFY_RETURN func
fexit+ TRACING BPF_TRACE_FEXIT func
fentry.s+ TRACING BPF_TRACE_FENTRY func
fmod_ret.s+ TRACING BPF_MODIFY_RETURN func
fexit.s+ TRACING BPF_TRACE_FEXIT func
fsession+ TRACING BPF_TRACE_FSESSION func
fsession.s+ TRACING BPF_TRACE_FSESSION func
fsession.multi+ TRACING BPF_TRACE_FSESSION_MULTI
fsession.multi.s+ TRACING BPF_TRACE_FSESSION_MULTI
fentry.multi+ TRACING BPF_TRACE_FENTRY_MULTI
fexit.multi+ TRACING BPF_TRACE_FEXIT_MULTI
fentry.multi.s+ TRACING BPF_TRACE_FENTRY_MULTI
fexit.multi.s+ TRACING BPF_TRACE_FEXIT_MULTI
freplace+ EXT -
lsm+ LSM BPF_LSM_MAC lsm
lsm.s+ LSM BPF_LSM_MAC lsm
lsm_cgroup+ LSM BPF_LSM_CGROUP lsm
iter+ TRACING BPF_TRACE_ITER iter
iter.s+ TRACING BPF_TRACE_ITER iter
syscall SYSCALL -
xdp.frags/devmap XDP BPF_XDP_DEVMAP
xdp/devmap XDP BPF_XDP_DEVMAP
xdp.frags/cpumap XDP BPF_XDP_CPUMAP
xdp/cpumap XDP BPF_XDP_CPUMAP
xdp.frags XDP BPF_XDP
xdp XDP BPF_XDP
perf_event PERF_EVENT -
lwt_in LWT_IN -
lwt_out LWT_OUT -
lwt_xmit LWT_XMIT -
lwt_seg6local LWT_SEG6LOCAL -
sockops SOCK_OPS BPF_CGROUP_SOCK_OPS
sk_skb/stream_parser SK_SKB BPF_SK_SKB_STREAM_PARSER
sk_skb/stream_verdict SK_SKB BPF_SK_SKB_STREAM_VERDICT
sk_skb/verdict SK_SKB BPF_SK_SKB_VERDICT
sk_skb SK_SKB -
sk_msg SK_MSG BPF_SK_MSG_VERDICT
lirc_mode2 LIRC_MODE2 BPF_LIRC_MODE2
flow_dissector FLOW_DISSECTOR BPF_FLOW_DISSECTOR
cgroup_skb/ingress CGROUP_SKB BPF_CGROUP_INET_INGRESS
cgroup_skb/egress CGROUP_SKB BPF_CGROUP_INET_EGRESS
cgroup/skb CGROUP_SKB -
cgroup/sock_create CGROUP_SOCK BPF_CGROUP_INET_SOCK_CREATE
cgroup/sock_release CGROUP_SOCK BPF_CGROUP_INET_SOCK_RELEASE
cgroup/sock CGROUP_SOCK BPF_CGROUP_INET_SOCK_CREATE
cgroup/post_bind4 CGROUP_SOCK BPF_CGROUP_INET4_POST_BIND
cgroup/post_bind6 CGROUP_SOCK BPF_CGROUP_INET6_POST_BIND
cgroup/bind4 CGROUP_SOCK_ADDR BPF_CGROUP_INET4_BIND
cgroup/bind6 CGROUP_SOCK_ADDR BPF_CGROUP_INET6_BIND
cgroup/connect4 CGROUP_SOCK_ADDR BPF_CGROUP_INET4_CONNECT
cgroup/connect6 CGROUP_SOCK_ADDR BPF_CGROUP_INET6_CONNECT
cgroup/connect_unix CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_CONNECT
cgroup/sendmsg4 CGROUP_SOCK_ADDR BPF_CGROUP_UDP4_SENDMSG
cgroup/sendmsg6 CGROUP_SOCK_ADDR BPF_CGROUP_UDP6_SENDMSG
cgroup/sendmsg_unix CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_SENDMSG
cgroup/recvmsg4 CGROUP_SOCK_ADDR BPF_CGROUP_UDP4_RECVMSG
cgroup/recvmsg6 CGROUP_SOCK_ADDR BPF_CGROUP_UDP6_RECVMSG
cgroup/recvmsg_unix CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_RECVMSG
cgroup/getpeername4 CGROUP_SOCK_ADDR BPF_CGROUP_INET4_GETPEERNAME
cgroup/getpeername6 CGROUP_SOCK_ADDR BPF_CGROUP_INET6_GETPEERNAME
cgroup/getpeername_unix CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_GETPEERNAME
cgroup/getsockname4 CGROUP_SOCK_ADDR BPF_CGROUP_INET4_GETSOCKNAME
cgroup/getsockname6 CGROUP_SOCK_ADDR BPF_CGROUP_INET6_GETSOCKNAME
cgroup/getsockname_unix CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_GETSOCKNAME
cgroup/sysctl CGROUP_SYSCTL BPF_CGROUP_SYSCTL
cgroup/getsockopt CGROUP_SOCKOPT BPF_CGROUP_GETSOCKOPT
cgroup/setsockopt CGROUP_SOCKOPT BPF_CGROUP_SETSOCKOPT
cgroup/dev CGROUP_DEVICE BPF_CGROUP_DEVICE
struct_ops+ STRUCT_OPS -
struct_ops.s+ STRUCT_OPS -
sk_lookup SK_LOOKUP BPF_SK_LOOKUP
netfilter NETFILTER BPF_NETFILTER
""")


def sec_def(name: str) -> SecDef | None:
    """The first section definition matching a section name, as libbpf picks it (a leading `?` only turns
    autoload off)."""
    name = name.removeprefix("?")
    return next((d for d in SECTION_DEFS if d.matches(name)), None)


def autoloaded(name: str) -> bool:
    """libbpf loads the programs of `SEC("?...")` only when the loader asks for them."""
    return not name.startswith("?")
