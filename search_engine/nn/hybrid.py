"""The real PyTorch network of a HyT-NAS architecture: MobileViT-style backbone, FPN neck, SSD-lite head.

Layout (strides are cumulative):

- stem: 3x3 conv, stride 2, ``STEM_CHANNELS`` outputs, BN, SiLU                      (/2)
- stage 1: one inverted residual (``expansion_stage1``), stride 1                       (/2)
- stage 2: ``blocks_stage2`` inverted residuals, the first with stride 2               (/4)
- stages 3-5: a stride-2 inverted residual, then one MobileViT block whose transformer  (/8, /16, /32)
  has ``blocks_stageN`` layers of dimension d = the stage's channels, ``heads_stageN`` heads,
  FFN width ``ffn_widths()`` and ``patch_stageN`` x ``patch_stageN`` patches.

Widths come from ``stage_channels`` / ``ffn_widths`` of the space, so the network is the one whose
features the measurement tables record. Two adaptations keep *every* architecture buildable:

- heads: when d is not divisible by ``heads_stageN`` (growth x1.5 gives e.g. d = 27), the block uses the
  largest divisor of d that is <= the requested heads (27 with 4 heads -> 3 heads);
- patches: a feature map whose side is not a multiple of the patch (or is smaller than it) is
  zero-padded at the bottom/right to the next multiple before unfolding and cropped back after folding.

Architectures of the extended space (``spaces/mobilevit.py``: those carrying its own variables) are
built the way MobileViT is: the transformer width d and the FFN width come from their own ratios,
a map whose side is not a multiple of the patch is resized (bilinear, as MobileViT v1 does) to the
next multiple and back rather than padded, and the classifier starts with a 1x1 convolution (BN,
SiLU) to ``final_conv_channels`` when that is not 0. The HyT-NAS space's networks are unchanged.

Detection (``task="detection"``): the outputs of stages 3, 4, 5 feed a light FPN (1x1 laterals to
``NECK_CHANNELS``, top-down nearest upsampling + add, 3x3 smoothing) and an SSD-lite head with one
depthwise-separable class predictor (``anchors * num_classes`` channels) and one box predictor
(``anchors * 4`` channels) per pyramid level. Classification (``task="classification"``): global
average pooling of stage 5 + a linear layer; ``neck`` and ``head`` are ``None`` and ``classifier`` is set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from search_engine.errors import ConfigError
from search_engine.spaces import mobilevit
from search_engine.spaces.hytnas import ATTENTION_STAGES, ffn_widths, stage_channels
from search_engine.spaces.hytnas_counts import NECK_CHANNELS, STEM_CHANNELS

TASKS = ("detection", "classification")


def attention_heads(dim: int, requested: int) -> int:
    """The largest divisor of ``dim`` that is <= ``requested`` (multi-head attention splits d evenly)."""
    return max(h for h in range(1, max(1, min(requested, dim)) + 1) if dim % h == 0)


def _conv_bn(
    c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True
) -> nn.Sequential:
    """Conv (no bias) + BatchNorm (+ SiLU); 'same' padding for odd kernels."""
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    if act:
        layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (skipped at expansion 1), 3x3 depthwise, 1x1 linear projection."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: float) -> None:
        super().__init__()
        hidden = max(1, round(c_in * expansion))
        layers: list[nn.Module] = []
        if hidden != c_in:
            layers.append(_conv_bn(c_in, hidden, 1))
        layers.append(_conv_bn(hidden, hidden, 3, stride, groups=hidden))
        layers.append(_conv_bn(hidden, c_out, 1, act=False))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.block(x)
        return x + out if self.residual else out


class Attention(nn.Module):
    """Multi-head self-attention over the token axis; plain Linear layers, so MAC counters see them."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape  # (batch * patch pixels, n_patches, d)
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        mixed = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (b, heads, n, d / heads)
        out: Tensor = self.out(mixed.transpose(1, 2).reshape(b, n, d))
        return out


class TransformerLayer(nn.Module):
    """Pre-norm transformer layer: x + MHA(LN(x)), then x + FFN(LN(x)) with a SiLU FFN."""

    def __init__(self, dim: int, heads: int, ffn_width: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_width), nn.SiLU(), nn.Linear(ffn_width, dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attention(self.norm1(x))
        out: Tensor = x + self.ffn(self.norm2(x))
        return out


class MobileViTBlock(nn.Module):
    """Local 3x3 conv + 1x1 to d, transformer over unfolded patches, fold, 1x1 back, concat-fusion 3x3.

    A map whose side is not a multiple of the patch is zero-padded at the bottom/right and cropped
    back (``resize=False``, the HyT-NAS space) or resized bilinearly to the next multiple and back
    (``resize=True``, MobileViT v1's way).
    """

    def __init__(
        self,
        channels: int,
        dim: int,
        layers: int,
        heads: int,
        ffn_width: int,
        patch: int,
        resize: bool = False,
    ) -> None:
        super().__init__()
        self.patch = patch
        self.resize = resize
        self.heads = attention_heads(dim, heads)
        self.local = nn.Sequential(_conv_bn(channels, channels, 3), nn.Conv2d(channels, dim, 1, bias=False))
        self.transformer = nn.Sequential(
            *[TransformerLayer(dim, self.heads, ffn_width) for _ in range(layers)], nn.LayerNorm(dim)
        )
        self.project = _conv_bn(dim, channels, 1)
        self.fusion = _conv_bn(2 * channels, channels, 3)

    def forward(self, x: Tensor) -> Tensor:
        y = self.local(x)  # (B, d, H, W)
        b, d, h, w = y.shape
        p = self.patch
        ph, pw = math.ceil(h / p) * p, math.ceil(w / p) * p
        if (ph, pw) != (h, w) and self.resize:
            y = F.interpolate(y, size=(ph, pw), mode="bilinear", align_corners=False)  # (B, d, ph, pw)
        elif (ph, pw) != (h, w):
            y = F.pad(y, (0, pw - w, 0, ph - h))  # (B, d, ph, pw), zeros at bottom/right
        nh, nw = ph // p, pw // p
        # unfold: (B, d, nh, p, nw, p) -> (B, p, p, nh, nw, d) -> (B * p * p, nh * nw, d)
        tokens = y.reshape(b, d, nh, p, nw, p).permute(0, 3, 5, 2, 4, 1).reshape(b * p * p, nh * nw, d)
        tokens = self.transformer(tokens)
        # fold back: (B * p * p, nh * nw, d) -> (B, d, nh, p, nw, p) -> (B, d, ph, pw)
        y = tokens.reshape(b, p, p, nh, nw, d).permute(0, 5, 3, 1, 4, 2).reshape(b, d, ph, pw)
        if (ph, pw) != (h, w) and self.resize:
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)  # (B, d, h, w)
        else:
            y = y[:, :, :h, :w]
        out: Tensor = self.fusion(torch.cat([x, self.project(y)], dim=1))
        return out


class Backbone(nn.Module):
    """Stem + stages 1-5; ``forward`` returns the outputs of stages 3, 4, 5 (strides 8, 16, 32)."""

    def __init__(self, architecture: Mapping[str, Any]) -> None:
        super().__init__()
        arch = dict(architecture)
        extended = mobilevit.is_mobilevit_architecture(arch)
        if extended:
            channels = mobilevit.stage_channels(arch)  # stages 1-5
            dims = mobilevit.transformer_dims(arch)  # stages 3-5
            ffn = mobilevit.ffn_widths(arch)  # stages 3-5
        else:
            channels = stage_channels(arch)
            dims = channels[2:]  # the HyT-NAS space ties d to the stage's channels
            ffn = ffn_widths(arch)
        self.out_channels = channels[2:]
        self.final_conv_channels = mobilevit.final_conv_channels(arch) if extended else 0
        self.stem = _conv_bn(3, STEM_CHANNELS, 3, stride=2)
        stage1 = InvertedResidual(STEM_CHANNELS, channels[0], 1, float(arch["expansion_stage1"]))
        stage2 = nn.Sequential(
            *[
                InvertedResidual(
                    channels[0] if i == 0 else channels[1],
                    channels[1],
                    2 if i == 0 else 1,
                    float(arch["expansion_stage2"]),
                )
                for i in range(int(arch["blocks_stage2"]))
            ]
        )
        stages: list[nn.Module] = [nn.Sequential(stage1), stage2]
        for k, stage in enumerate(ATTENTION_STAGES):
            c_in, c_out = channels[stage - 2], channels[stage - 1]
            stages.append(
                nn.Sequential(
                    InvertedResidual(c_in, c_out, 2, float(arch[f"expansion_stage{stage}"])),
                    MobileViTBlock(
                        c_out,
                        dims[k],
                        int(arch[f"blocks_stage{stage}"]),
                        int(arch[f"heads_stage{stage}"]),
                        ffn[k],
                        int(arch[f"patch_stage{stage}"]),
                        resize=extended,
                    ),
                )
            )
        self.stages = nn.ModuleList(stages)  # stages 1-5

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.stem(x)
        features: list[Tensor] = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features[2:]  # stages 3, 4, 5: (B, c_s, H / 2^s, W / 2^s)


class FPNNeck(nn.Module):
    """Light feature pyramid: 1x1 laterals, top-down nearest upsampling + add, 3x3 smoothing."""

    def __init__(self, in_channels: list[int], width: int = NECK_CHANNELS) -> None:
        super().__init__()
        self.lateral = nn.ModuleList([nn.Conv2d(c, width, 1) for c in in_channels])
        self.smooth = nn.ModuleList([_conv_bn(width, width, 3) for _ in in_channels])

    def forward(self, features: list[Tensor]) -> list[Tensor]:
        laterals = [conv(f) for conv, f in zip(self.lateral, features, strict=True)]
        merged = [laterals[-1]]
        for lateral in reversed(laterals[:-1]):
            # size= rather than scale_factor: odd maps (e.g. 9 -> 5 at stride 2) upsample exactly
            merged.insert(0, lateral + F.interpolate(merged[0], size=lateral.shape[-2:], mode="nearest"))
        return [smooth(m) for smooth, m in zip(self.smooth, merged, strict=True)]


def _separable_predictor(c_in: int, c_out: int) -> nn.Sequential:
    """SSD-lite predictor: 3x3 depthwise (BN, SiLU) then a 1x1 conv with bias."""
    return nn.Sequential(_conv_bn(c_in, c_in, 3, groups=c_in), nn.Conv2d(c_in, c_out, 1))


class SSDLiteHead(nn.Module):
    """Per pyramid level: class logits (anchors * num_classes channels) and boxes (anchors * 4 channels)."""

    def __init__(self, in_channels: int, levels: int, num_classes: int, anchors: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.anchors = anchors
        self.classes = nn.ModuleList(
            [_separable_predictor(in_channels, anchors * num_classes) for _ in range(levels)]
        )
        self.boxes = nn.ModuleList([_separable_predictor(in_channels, anchors * 4) for _ in range(levels)])

    def forward(self, pyramid: list[Tensor]) -> dict[str, list[Tensor]]:
        """``{"class_logits": [(B, A*K, H_l, W_l)], "boxes": [(B, A*4, H_l, W_l)]}``, finest level first."""
        return {
            "class_logits": [head(p) for head, p in zip(self.classes, pyramid, strict=True)],
            "boxes": [head(p) for head, p in zip(self.boxes, pyramid, strict=True)],
        }


class Classifier(nn.Module):
    """(A 1x1 conv, BN, SiLU to ``final_conv_channels``, as MobileViT has,) global average pooling, linear."""

    def __init__(self, in_channels: int, num_classes: int, final_conv_channels: int = 0) -> None:
        super().__init__()
        self.final_conv = _conv_bn(in_channels, final_conv_channels, 1) if final_conv_channels else None
        self.linear = nn.Linear(final_conv_channels or in_channels, num_classes)

    def forward(self, features: list[Tensor]) -> Tensor:
        last = features[-1] if self.final_conv is None else self.final_conv(features[-1])
        pooled = last.mean(dim=(2, 3))  # (B, c5 or final_conv_channels)
        out: Tensor = self.linear(pooled)
        return out  # (B, num_classes)


class HybridNet(nn.Module):
    """A backbone plus either neck + head (detection) or a classifier (classification).

    ``backbone(x)`` -> list of 3 feature maps; ``neck(features)`` -> list of 3 pyramid maps;
    ``head(pyramid)`` -> ``{"class_logits": [...], "boxes": [...]}``; ``classifier(features)`` -> logits.
    Absent parts are ``None``, so a latency measurement can time each part that exists.
    """

    def __init__(
        self,
        backbone: Backbone,
        task: str,
        *,
        neck: FPNNeck | None = None,
        head: SSDLiteHead | None = None,
        classifier: Classifier | None = None,
        resolution: int = 224,
        num_classes: int = 10,
        anchors: int = 6,
    ) -> None:
        super().__init__()
        self.task = task
        self.resolution = resolution
        self.num_classes = num_classes
        self.anchors = anchors
        self.backbone = backbone
        self.neck = neck
        self.head = head
        self.classifier = classifier

    def forward_stages(self, x: Tensor) -> dict[str, Any]:
        """Every part's output in execution order.

        Detection: ``{"backbone": [3 maps], "neck": [3 maps], "head": {"class_logits", "boxes"}}``;
        classification: ``{"backbone": [3 maps], "classifier": (B, num_classes) logits}``.
        """
        outputs: dict[str, Any] = {"backbone": self.backbone(x)}
        if self.classifier is not None:
            outputs["classifier"] = self.classifier(outputs["backbone"])
            return outputs
        assert self.neck is not None and self.head is not None
        outputs["neck"] = self.neck(outputs["backbone"])
        outputs["head"] = self.head(outputs["neck"])
        return outputs

    def forward(self, x: Tensor) -> Any:
        """Detection: the head's dict of per-level lists; classification: ``(B, num_classes)`` logits."""
        stages = self.forward_stages(x)
        return stages["classifier"] if self.classifier is not None else stages["head"]


def build_model(
    architecture: Mapping[str, Any],
    task: str = "detection",
    resolution: int = 224,
    num_classes: int = 10,
    anchors: int = 6,
) -> HybridNet:
    """The network of a decoded architecture of either space, in eval mode with freshly initialised weights.

    ``resolution``, ``num_classes`` and ``anchors`` are recorded on the model; ``resolution`` is the
    intended input side (the network is fully convolutional and accepts any input size >= 1).
    """
    if task not in TASKS:
        raise ConfigError("task", f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    for field, value in (("resolution", resolution), ("num_classes", num_classes), ("anchors", anchors)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(field, f"must be a positive integer, got {value!r}")
    try:
        backbone = Backbone(architecture)
    except KeyError as error:
        raise ConfigError("architecture", f"missing variable {error.args[0]!r}") from None
    neck = head = classifier = None
    if task == "classification":
        classifier = Classifier(backbone.out_channels[-1], num_classes, backbone.final_conv_channels)
    else:
        neck = FPNNeck(backbone.out_channels)
        head = SSDLiteHead(NECK_CHANNELS, len(backbone.out_channels), num_classes, anchors)
    model = HybridNet(
        backbone,
        task,
        neck=neck,
        head=head,
        classifier=classifier,
        resolution=resolution,
        num_classes=num_classes,
        anchors=anchors,
    )
    return model.eval()
