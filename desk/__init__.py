"""The rules of the product as plain functions over the models."""
