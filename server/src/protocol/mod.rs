//! Client protocol: sans-I/O parser and encoders.
