"""fomm_core: the First Order Motion Model networks and the motion math every backend shares."""

from .errors import InputError
from .keypoints import Keypoints
from .motion_track import MotionTrack
from .similarity import Similarity, fit_similarity

__all__ = ["InputError", "Keypoints", "MotionTrack", "Similarity", "fit_similarity"]

# FOMM networks (issue 2)
from .config import DenseMotionConfig, DiscriminatorConfig, FommConfig, GeneratorConfig, KPDetectorConfig  # noqa: E402
from .discriminator import MultiScaleDiscriminator  # noqa: E402
from .generator import GeneratorOutput, OcclusionAwareGenerator, SourceEncoding  # noqa: E402
from .kp_detector import KPDetector  # noqa: E402
from .relative import normalize_kp  # noqa: E402

__all__ += [
    "DenseMotionConfig", "DiscriminatorConfig", "FommConfig", "GeneratorConfig", "KPDetectorConfig",
    "MultiScaleDiscriminator", "GeneratorOutput", "OcclusionAwareGenerator", "SourceEncoding", "KPDetector",
    "normalize_kp",
]
from .fomm_renderer import FommRenderer, FommSourceState  # noqa: E402
from .model import FommModel  # noqa: E402

__all__ += ["FommRenderer", "FommSourceState", "FommModel"]
