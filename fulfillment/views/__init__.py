"""The store's tablet pages: picking, packing and handover (one module each)."""
