"""Files sent peer to peer: offered, accepted, moved in chunks over the secure channel,
checked by SHA-256 and resumed after a drop or a restart (docs/GUIDE.md, "Files")."""
