"""The shared core every location and feature writes through: the transition log, order-line moves, settling an
order, the shop and ERP records, pickup offers and the geometry they share."""
