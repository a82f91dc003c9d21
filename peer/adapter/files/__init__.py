"""Files sent peer to peer, on disk and over TCP: the adapter of peer/core/files/."""
