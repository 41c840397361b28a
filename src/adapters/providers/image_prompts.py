"""How an operation becomes one prompt of text and images, for the models that take both in
one call (Gemini, OpenAI gpt-image): which templates follow the photo, what the model is told
about the images (a multi-image prompt is ambiguous without it) and the slot's prompt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from application.ports import InputImage, ProviderInput
from domain.errors import ProviderFailed

STYLE_TEMPLATE = "style_template_id"
FACE_TEMPLATE = "face_template_id"


@dataclass(frozen=True, slots=True)
class OperationRecipe:
    """Which templates follow the photo, what the model is told about the images, and
    whether the slot must give a prompt (else ``default_prompt`` is used)."""

    template_fields: tuple[str, ...] = ()
    guide: str = ""
    prompt_required: bool = True
    default_prompt: str = ""


OPERATIONS: Mapping[str, OperationRecipe] = {
    "image_edit": OperationRecipe(),
    "style_transfer": OperationRecipe(
        template_fields=(STYLE_TEMPLATE,),
        guide=(
            "Image 1 is the photo to edit. Image 2 is a style reference only: apply its "
            "style to image 1 and keep the people and composition of image 1."
        ),
    ),
    "identity_transfer": OperationRecipe(
        template_fields=(FACE_TEMPLATE,),
        guide="Image 1 is the photo to edit. Image 2 shows the face to use.",
    ),
}


def recipe_for(
    operations: Mapping[str, OperationRecipe], operation: str, provider: str
) -> OperationRecipe:
    recipe = operations.get(operation)
    if recipe is None:
        known = ", ".join(sorted(operations))
        raise ProviderFailed(
            f"{provider} has no operation {operation!r} (known: {known})",
            {"operation": operation},
        )
    return recipe


def prompt_text(request: ProviderInput, recipe: OperationRecipe, provider: str) -> str:
    """The guide, then the slot's prompt (or the recipe's default where none is required)."""
    value = request.settings.get("prompt")
    prompt = value.strip() if isinstance(value, str) else ""
    if not prompt:
        if recipe.prompt_required:
            raise ProviderFailed(
                f"{provider} operation {request.operation} needs a prompt", {"setting": "prompt"}
            )
        prompt = recipe.default_prompt
    return f"{recipe.guide}\n\n{prompt}" if recipe.guide else prompt


def template_images(
    request: ProviderInput, recipe: OperationRecipe, provider: str
) -> list[tuple[str, InputImage]]:
    """The operation's templates, by field, in the order they follow the photo."""
    images: list[tuple[str, InputImage]] = []
    for field in recipe.template_fields:
        template = request.templates.get(field)
        if template is None:
            raise ProviderFailed(
                f"{provider} operation {request.operation} needs the template image {field!r}",
                {"setting": field},
            )
        images.append((field, template))
    return images
