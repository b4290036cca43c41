"""Workflow templates: loading, bindings by node title, graph filling and start-up checks."""

from gpu_server.workflows.filling import fill_graph
from gpu_server.workflows.templates import Template, TemplateSet, load_templates

__all__ = ["Template", "TemplateSet", "fill_graph", "load_templates"]
