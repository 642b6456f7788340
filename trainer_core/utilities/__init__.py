"""Lightning 1.0's `pytorch_lightning.utilities` names that user code imports."""

from enum import StrEnum

import torch

from trainer_core.attribute_dict import AttributeDict
from trainer_core.utilities.apply_func import move_data_to_device
from trainer_core.utilities.distributed import rank_zero_info, rank_zero_only, rank_zero_warn
from trainer_core.utilities.parsing import is_picklable

# what is available in this build: native AMP (torch.autocast) yes; Apex, TPUs and Horovod are
# refused on purpose. Lightning 1.0 scripts test these to skip features.
NATIVE_AMP_AVALAIBLE = True  # 1.0's spelling
NATIVE_AMP_AVAILABLE = True
APEX_AVAILABLE = False
TPU_AVAILABLE = False
HOROVOD_AVAILABLE = False


class AMPType(StrEnum):
    """Lightning 1.0's names of the mixed-precision backends (`amp_backend=`); only native
    runs here."""

    APEX = "apex"
    NATIVE = "native"


FLOAT16_EPSILON = float(torch.finfo(torch.float16).eps)
FLOAT32_EPSILON = float(torch.finfo(torch.float32).eps)
FLOAT64_EPSILON = float(torch.finfo(torch.float64).eps)

__all__ = [
    "APEX_AVAILABLE",
    "FLOAT16_EPSILON",
    "FLOAT32_EPSILON",
    "FLOAT64_EPSILON",
    "HOROVOD_AVAILABLE",
    "NATIVE_AMP_AVAILABLE",
    "NATIVE_AMP_AVALAIBLE",
    "TPU_AVAILABLE",
    "AMPType",
    "AttributeDict",
    "is_picklable",
    "move_data_to_device",
    "rank_zero_info",
    "rank_zero_only",
    "rank_zero_warn",
]
