"""WireGuard's anti-replay window (whitepaper section 5.4.6, RFC 6479), sans-IO: which
transport counters (Noise nonces, secure.noise §11.4) to accept from one receiving key.

Same answers as WireGuard's: wireguard-go replay/replay.go (`ValidateCounter` with
device/constants.go's RejectAfterMessages) and the kernel's `counter_validate`, kept the same
way: a ring of 128 blocks of 64 bits."""

from __future__ import annotations

from typing import ClassVar, Final

#: How far below the highest counter accepted a counter may still be: wireguard-go's
#: windowSize, (128 - 1) * 64, the kernel's COUNTER_WINDOW_SIZE on 64-bit machines.
WINDOW = 8128

#: The first counter never accepted: 2**64 - 2**13 - 1, the whitepaper's Reject-After-Messages
#: (section 6.1) and wireguard-go's RejectAfterMessages.
REJECT_AFTER_MESSAGES: Final = 2**64 - 2**13 - 1


class ReplayWindow:
    """The counters seen under one key. `accept(c)` is True once for each counter from 0 to
    REJECT_AFTER_MESSAGES - 1 that is no more than WINDOW below the highest accepted so far
    (at first 0), and False otherwise."""

    __slots__ = ("_highest", "_ring")

    WINDOW: ClassVar[int] = WINDOW  # a class constant, for a compiled class too

    def __init__(self) -> None:
        self._highest = 0
        # wireguard-go's ring: block b holds the bits of counters b*64 .. b*64+63, at index
        # b % _BLOCKS; small ints, so that accepting costs the same at any counter
        self._ring = [0] * _BLOCKS

    def accept(self, counter: int) -> bool:
        """Whether to accept a message bearing `counter` (it opened with that nonce), and
        remember it was. Check only a message that authenticated, as WireGuard does, or a
        forged counter would move the window."""
        if not 0 <= counter < REJECT_AFTER_MESSAGES:
            return False
        ring = self._ring
        highest = self._highest
        bit = 1 << (counter & 63)
        if counter > highest:
            # Slide forward, emptying the blocks passed over (all of them after a long
            # jump). Above the highest, no counter was accepted: its bit is clear.
            block, current = counter >> 6, highest >> 6
            if block != current:
                for passed in range(current + 1, current + 1 + min(block - current, _BLOCKS)):
                    ring[passed % _BLOCKS] = 0
            self._highest = counter
            ring[block % _BLOCKS] |= bit
            return True
        if highest - counter > WINDOW:
            return False
        index = (counter >> 6) % _BLOCKS
        old = ring[index]
        if old & bit:
            return False
        ring[index] = old | bit
        return True


#: wireguard-go's ringBlocks: WINDOW is all of them but the one being filled, in bits.
_BLOCKS: Final = WINDOW // 64 + 1
