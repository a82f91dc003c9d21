"""Several registries, one service: the state they share on NATS JetStream.

`ChatApp -s PORT --cluster nats://...` runs a registry of a service whose state lives in
JetStream (registry/adapter/cluster/store.py) instead of files, whose key is the service's
(registry/adapter/cluster/service.py), and which decides for the service or relays to the one that
does (registry/adapter/cluster/lead.py). docs/SCALING.md says how to run one.
"""
