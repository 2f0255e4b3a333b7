//! Pure mapping of wc/v3 payloads to the unified model.
