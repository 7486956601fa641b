"""Neural-network layers: the seed's formulas as ndarrays functions and as primitives."""
