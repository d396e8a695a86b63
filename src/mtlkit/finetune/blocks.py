"""``finetune=blocks``: one phase, the heads and the backbone blocks ``finetune.blocks`` names (any set).

Surgical fine-tuning (Lee et al., ICLR 2023): which blocks are best to tune depends on the shift between source and
target (early blocks for a change of input, e.g. corruptions; late ones for a change of labels), so any set of
blocks can train, numbered 0 (input side) to n-1 (output side) as ``last_k`` counts them.
"""

from __future__ import annotations

from mtlkit.errors import ConfigError
from mtlkit.finetune.phases import Phase
from mtlkit.finetune.strategy import FinetuneStrategy


class Blocks(FinetuneStrategy):
    def phases(self, max_epochs: int | None) -> list[Phase]:
        blocks = self.settings.get("blocks")
        if isinstance(blocks, int) and not isinstance(blocks, bool):
            blocks = [blocks]
        if (
            not isinstance(blocks, (list, tuple))
            or not blocks
            or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in blocks)
        ):
            raise ConfigError(
                f"finetune=blocks needs finetune.blocks, a list of block indices >= 0 (0 = input side), e.g. "
                f"'finetune.blocks=[0,1]'; got {blocks!r}"
            )
        return [Phase("finetune", None, blocks=tuple(sorted(set(blocks))))]
