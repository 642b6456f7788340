"""Lightning 1.0's `pytorch_lightning.utilities` names that user code imports."""

from trainer_core.attribute_dict import AttributeDict
from trainer_core.utilities.apply_func import move_data_to_device
from trainer_core.utilities.distributed import rank_zero_info, rank_zero_only, rank_zero_warn

__all__ = [
    "AttributeDict",
    "move_data_to_device",
    "rank_zero_info",
    "rank_zero_only",
    "rank_zero_warn",
]
