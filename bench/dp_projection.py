"""Projects data-parallel scaling efficiency on 8 and 64 GPUs from a measured
backward profile (bench/backward_profile) and NCCL bandwidth figures.

  python3 bench/dp_projection.py PROFILE.json [--bucket-mb 25] [--gpus 8,64]
                                 [--intra-gbps 360] [--inter-gbps 45] [--latency-us 10]
                                 [--compute-scale 1]

The model, and its assumptions:
- One step = forward + backward + optimizer on each GPU, then nothing else:
  the per-GPU batch is fixed (weak scaling), so compute time does not change
  with the GPU count. Efficiency = single-GPU step time / N-GPU step time.
- Gradients are all-reduced in buckets of the flat gradient buffer, in the
  order backward finishes them (last layers first). A bucket's all-reduce
  starts when backward has produced all of it and the previous bucket's
  all-reduce is done (one communication stream, as NCCL serializes on it).
- A ring all-reduce of B bytes over N GPUs takes
  2 (N - 1) / N * B / bus_bandwidth + 2 (N - 1) * latency   (NCCL's model;
  "bus bandwidth" is what nccl-tests report as busbw).
- Within one node (N <= 8) the bus bandwidth is --intra-gbps (NVLink/NVSwitch;
  nccl-tests all_reduce busbw on 8 x H100 SXM is about 360-480 GB/s for
  large messages). Across nodes (N > 8, 8 GPUs per node) NCCL's ring runs at
  the network's rate: --inter-gbps per GPU (8 x 400 Gb/s InfiniBand per node
  gives about 45 GB/s per GPU of busbw after protocol overhead).
- The optimizer waits for the last bucket. Forward does not overlap the
  previous step's communication.
- --compute-scale multiplies every measured compute time (a what-if for a
  faster device or a larger batch than the profile's); 1 uses them as measured.
Every figure above is an input: pass measured ones when you have them.
"""
import argparse
import json


def allreduce_seconds(nbytes, gpus, bus_gbps, latency_us):
    if gpus == 1:
        return 0.0
    return 2 * (gpus - 1) / gpus * nbytes / (bus_gbps * 1e9) + 2 * (gpus - 1) * latency_us * 1e-6


def buckets_from_profile(profile, bucket_bytes):
    """Backward ops in execution order, each with the gradient bytes it
    finishes and when; returns (ready_time, bytes) per bucket in reduce order."""
    total_bytes = profile["gradient_bytes"]
    # Parameters are laid out in node order and backward runs in reverse, so
    # the frontier of finished gradients moves from the end of the buffer down.
    events = []
    clock = 0.0
    for op in profile["backward"]:
        clock += op["seconds"]
        if op["param_bytes"] > 0:
            events.append((clock, op["param_offset_bytes"]))
    buckets = []
    upper = total_bytes
    while upper > 0:
        lower = max(0, upper - bucket_bytes)
        # Ready once the frontier has passed `lower`.
        ready = next(t for t, offset in events if offset <= lower) if any(o <= lower for _, o in events) else clock
        buckets.append((ready, upper - lower))
        upper = lower
    return buckets, clock


def scaled(profile, factor):
    out = dict(profile)
    out["forward_seconds"] = profile["forward_seconds"] * factor
    out["optimizer_seconds"] = profile["optimizer_seconds"] * factor
    out["backward"] = [dict(op, seconds=op["seconds"] * factor) for op in profile["backward"]]
    return out


def project(profile, gpus, bucket_bytes, intra, inter, latency):
    buckets, backward = buckets_from_profile(profile, bucket_bytes)
    bus = intra if gpus <= 8 else inter
    comm_done = 0.0
    for ready, nbytes in buckets:
        comm_done = max(comm_done, ready) + allreduce_seconds(nbytes, gpus, bus, latency)
    forward, optimizer = profile["forward_seconds"], profile["optimizer_seconds"]
    single = forward + backward + optimizer
    step = forward + max(backward, comm_done) + optimizer
    return single / step, step, comm_done - backward


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile")
    parser.add_argument("--bucket-mb", type=float, default=25)
    parser.add_argument("--gpus", default="8,64")
    parser.add_argument("--intra-gbps", type=float, default=360)
    parser.add_argument("--inter-gbps", type=float, default=45)
    parser.add_argument("--latency-us", type=float, default=10)
    parser.add_argument("--compute-scale", type=float, default=1.0)
    args = parser.parse_args()
    profile = scaled(json.load(open(args.profile)), args.compute_scale)
    if args.compute_scale != 1.0:
        print(f"compute times x {args.compute_scale:g} (what-if, not measured)")
    print(f"profile: {profile['model']} on {profile['device']}, batch {profile['batch']} per GPU, "
          f"{profile['gradient_bytes'] / 1e6:.1f} MB of gradients")
    print(f"step on one GPU: forward {1e3 * profile['forward_seconds']:.2f} ms, backward "
          f"{1e3 * sum(op['seconds'] for op in profile['backward']):.2f} ms, optimizer "
          f"{1e3 * profile['optimizer_seconds']:.2f} ms")
    print(f"buckets of {args.bucket_mb:g} MB; bus bandwidth {args.intra_gbps:g} GB/s within a node, "
          f"{args.inter_gbps:g} GB/s per GPU across nodes; latency {args.latency_us:g} us per ring hop")
    for gpus in (int(g) for g in args.gpus.split(",")):
        efficiency, step, exposed = project(profile, gpus, int(args.bucket_mb * 1e6), args.intra_gbps,
                                            args.inter_gbps, args.latency_us)
        print(f"{gpus:3d} GPUs: step {1e3 * step:.2f} ms, communication not hidden {1e3 * max(exposed, 0):.2f} ms, "
              f"efficiency {efficiency:.2f}")
    # Without overlap: every bucket after backward.
    for gpus in (int(g) for g in args.gpus.split(",")):
        buckets, backward = buckets_from_profile(profile, int(args.bucket_mb * 1e6))
        bus = args.intra_gbps if gpus <= 8 else args.inter_gbps
        comm = sum(allreduce_seconds(b, gpus, bus, args.latency_us) for _, b in buckets)
        single = profile["forward_seconds"] + backward + profile["optimizer_seconds"]
        print(f"{gpus:3d} GPUs without overlap: efficiency {single / (single + comm):.2f}")


if __name__ == "__main__":
    main()
