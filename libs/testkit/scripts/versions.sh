# Pinned versions of the real components built for tests, the sandbox and benchmarks.
# Read by build-binaries.sh and by libs/testkit (src/binaries.ts parses this file).
K8S_VERSION=1.37.2
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
NATS_VERSION=2.15.2
