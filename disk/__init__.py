"""Files on disk: where ChatApp keeps them, written whole or not at all; the
open-file limit; the help desk's operator key file."""
