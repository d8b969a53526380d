//! Feed renderers (being written).
