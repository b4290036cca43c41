"""Turn a GenerateRequest into a fully resolved job: mode rules, style defaults, limits."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from backend.errors import RequestRejected
from backend.schemas.api import ExtraParams, GenerateRequest
from backend.services.images import CleanImage, ImageLimits, clean_image
from common.error_codes import ErrorCode
from common.protocol import ControlNetSpec, JobParams, LoraSpec, Mode
from common.styles import StyleCatalog, StyleProfile

DECLINED_MODES = frozenset({"clothes_removal", "nsfw_face"})


@dataclass(frozen=True)
class RequestRules:
    """Limits and lists a request is checked against."""

    catalog: StyleCatalog
    samplers: frozenset[str]
    schedulers: frozenset[str]
    images: ImageLimits
    max_prompt_chars: int


@dataclass
class PreparedJob:
    """A checked request: resolved params, clean images, what the worker must have."""

    mode: Mode
    style: StyleProfile
    prompt: str
    negative_prompt: str
    params: JobParams
    architecture: str | None
    checkpoint: str
    images: dict[str, CleanImage] = field(default_factory=dict)

    @property
    def image_conditioned(self) -> bool:
        """True when an uploaded photo shapes the output."""
        return bool(self.images)


def _clean(text: str) -> str:
    """Prompt text without NUL characters (no store or model wants them), trimmed."""
    return text.replace("\x00", "").strip()


def _invalid(message: str, code: ErrorCode = ErrorCode.INVALID_PARAM) -> RequestRejected:
    return RequestRejected(code, message)


def check_mode(request: GenerateRequest) -> Mode:
    """The offered mode, or a refusal that says why not."""
    if request.mode in DECLINED_MODES:
        raise _invalid(
            f"The {request.mode} mode is not offered and never will be: genpod does not "
            "undress or sexualise real people from their photos.",
            ErrorCode.MODE_DECLINED,
        )
    if request.mode == "face_swap":
        raise _invalid("The face_swap mode is not offered.", ErrorCode.MODE_UNAVAILABLE)
    return Mode(request.mode)


def _check_text(mode: Mode, request: GenerateRequest, rules: RequestRules) -> None:
    prompt = request.prompt.strip()
    if mode == Mode.FREE and not prompt:
        raise _invalid("A prompt is required for the free mode.", ErrorCode.PROMPT_REQUIRED)
    if mode == Mode.UPSCALE and (prompt or request.extra_params.negative_prompt.strip()):
        raise _invalid("The upscale mode takes no prompt.")
    for name, text in (
        ("prompt", request.prompt),
        ("negative_prompt", request.extra_params.negative_prompt),
    ):
        if len(text) > rules.max_prompt_chars:
            raise _invalid(
                f"{name} is longer than {rules.max_prompt_chars} characters.",
                ErrorCode.PROMPT_TOO_LONG,
            )


def _check_inputs(mode: Mode, request: GenerateRequest) -> None:
    extra = request.extra_params
    if request.face_images:
        raise _invalid("face_images are not used by any offered mode.")
    if mode == Mode.FREE and request.target_image is not None:
        raise _invalid("target_image is not used by the free mode.")
    if mode != Mode.FREE and request.target_image is None:
        raise _invalid(f"The {mode} mode needs a target_image.", ErrorCode.IMAGE_REQUIRED)
    if mode != Mode.FREE and extra.controlnet is not None:
        raise _invalid("controlnet is only available in the free mode.")
    if mode != Mode.RESTYLE and extra.denoise is not None:
        raise _invalid("denoise is only used by the restyle mode.")
    if mode == Mode.UPSCALE and extra.batch_size != 1:
        raise _invalid("The upscale mode makes one image per request.")


def _style(request: GenerateRequest, catalog: StyleCatalog) -> StyleProfile:
    style_id = request.style or next(iter(catalog.styles))
    style = catalog.get(style_id)
    if style is None:
        known = ", ".join(catalog.styles)
        raise _invalid(
            f"Unknown style {style_id!r}; choose one of: {known}.", ErrorCode.UNKNOWN_STYLE
        )
    return style


def _size(extra: ExtraParams, style: StyleProfile) -> tuple[int, int]:
    if extra.width is None and extra.height is None:
        return style.default_resolution
    size = (extra.width or 0, extra.height or 0)
    if size not in [tuple(r) for r in style.resolutions]:
        allowed = ", ".join(f"{w}x{h}" for w, h in style.resolutions)
        raise _invalid(f"width x height must be one of the style's resolutions: {allowed}.")
    return size


def _loras(extra: ExtraParams, style: StyleProfile) -> list[LoraSpec]:
    if not extra.loras:
        return [LoraSpec(name=lora.name, weight=lora.weight) for lora in style.loras]
    names = [lora.name for lora in extra.loras]
    if len(set(names)) != len(names):
        raise _invalid("Each LoRA may be listed once.")
    for name in names:
        if name not in style.loras_offered:
            raise _invalid(f"LoRA {name!r} is not offered by this style.", ErrorCode.UNKNOWN_LORA)
    return [LoraSpec(name=lora.name, weight=lora.weight) for lora in extra.loras]


def _sampling(extra: ExtraParams, style: StyleProfile, rules: RequestRules) -> tuple[str, str]:
    sampler = extra.sampler or style.sampler
    scheduler = extra.scheduler or style.scheduler
    if sampler not in rules.samplers:
        raise _invalid(f"Unknown sampler {sampler!r}; GET /styles lists the samplers.")
    if scheduler not in rules.schedulers:
        raise _invalid(f"Unknown scheduler {scheduler!r}; GET /styles lists the schedulers.")
    return sampler, scheduler


def _params(mode: Mode, extra: ExtraParams, style: StyleProfile, rules: RequestRules) -> JobParams:
    sampler, scheduler = _sampling(extra, style, rules)
    width, height = _size(extra, style)
    denoise = (extra.denoise or style.restyle_denoise) if mode == Mode.RESTYLE else 1.0
    control = extra.controlnet
    if control is not None and control.type not in style.controlnet:
        raise _invalid(f"This style offers no {control.type} ControlNet.")
    seed = extra.seed if extra.seed >= 0 else random.randrange(2**32)  # noqa: S311 -- not crypto
    return JobParams(
        steps=extra.steps or style.steps,
        cfg=extra.cfg_scale if extra.cfg_scale is not None else style.cfg,
        seed=seed,
        sampler=sampler,
        scheduler=scheduler,
        width=width,
        height=height,
        batch_size=extra.batch_size,
        denoise=denoise,
        loras=_loras(extra, style),
        controlnet=None
        if control is None
        else ControlNetSpec(type=control.type, strength=control.strength),
        output_format=extra.output_format,
    )


def _images(mode: Mode, request: GenerateRequest, rules: RequestRules) -> dict[str, CleanImage]:
    images: dict[str, CleanImage] = {}
    if request.target_image is not None:
        images["target"] = clean_image("target_image", request.target_image, rules.images)
    control = request.extra_params.controlnet
    if control is not None:
        images["control"] = clean_image("controlnet.image", control.image, rules.images)
    target = images.get("target")
    limit = rules.catalog.upscale.max_input_side
    if mode == Mode.UPSCALE and target is not None and max(target.width, target.height) > limit:
        raise _invalid(
            f"Upscale input must be at most {limit} px a side.", ErrorCode.IMAGE_TOO_LARGE
        )
    return images


def prepare(request: GenerateRequest, rules: RequestRules) -> PreparedJob:
    """Check a request against the rules and resolve every default."""
    mode = check_mode(request)
    _check_text(mode, request, rules)
    _check_inputs(mode, request)
    style = _style(request, rules.catalog)
    params = _params(mode, request.extra_params, style, rules)
    images = _images(mode, request, rules)
    upscale = mode == Mode.UPSCALE
    if upscale:
        params = params.model_copy(
            update={"width": images["target"].width, "height": images["target"].height}
        )
    return PreparedJob(
        mode=mode,
        style=style,
        prompt=_clean(request.prompt),
        negative_prompt=_clean(request.extra_params.negative_prompt),
        params=params,
        architecture=None if upscale else style.architecture,
        checkpoint=rules.catalog.upscale.model if upscale else style.checkpoint,
        images=images,
    )
