"""Media files on the local filesystem and recognising what image type they hold."""

from adapters.storage.filesystem import FilesystemMediaStorage
from adapters.storage.image_type import extension_for_mime, sniff_image_file, sniff_image_mime

__all__ = ["FilesystemMediaStorage", "extension_for_mime", "sniff_image_file", "sniff_image_mime"]
