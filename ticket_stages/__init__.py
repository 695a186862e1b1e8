"""Ticket Stages: the stage lifecycle of help-desk tickets, served over GraphQL."""
