"""Thin resolvers: parse input, call one domain function, map the result."""
