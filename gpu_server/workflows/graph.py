"""Small edits on API-format graphs: rewiring links, bypassing nodes, LoRA chains."""

from __future__ import annotations

from typing import Any

from common.protocol import LoraSpec

Graph = dict[str, dict[str, Any]]
Link = tuple[str, int]


def is_link(value: Any) -> bool:
    """True when an input value is a link `[node_id, output_index]`."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    )


def rewire(graph: Graph, source: Link, target: Link, *, skip: set[str] | None = None) -> int:
    """Point every input linked to `source` at `target` instead; returns how many moved."""
    moved = 0
    for node_id, node in graph.items():
        if skip and node_id in skip:
            continue
        for name, value in node["inputs"].items():
            if is_link(value) and (value[0], value[1]) == source:
                node["inputs"][name] = [target[0], target[1]]
                moved += 1
    return moved


def bypass(graph: Graph, node_id: str, through: str) -> None:
    """Remove a one-in/one-out node, linking its consumers to what fed its `through` input."""
    feed = graph[node_id]["inputs"][through]
    del graph[node_id]
    rewire(graph, (node_id, 0), (feed[0], feed[1]))


def replace_output(graph: Graph, node_id: str, source: Link) -> None:
    """Remove a node, linking consumers of its first output to `source`."""
    del graph[node_id]
    rewire(graph, (node_id, 0), source)


def next_id(graph: Graph) -> int:
    """A numeric node id above every numeric id in the graph."""
    numeric = [int(key) for key in graph if key.isdigit()]
    return max(numeric, default=0) + 1


def insert_lora_chain(graph: Graph, checkpoint_id: str, loras: list[LoraSpec]) -> list[str]:
    """Chain LoraLoader nodes after the checkpoint; its MODEL/CLIP consumers follow the chain."""
    new_ids: list[str] = []
    model: Link = (checkpoint_id, 0)
    clip: Link = (checkpoint_id, 1)
    for index, lora in enumerate(loras):
        node_id = str(next_id(graph))
        graph[node_id] = {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": lora.name,
                "strength_model": lora.weight,
                "strength_clip": lora.weight,
                "model": [model[0], model[1]],
                "clip": [clip[0], clip[1]],
            },
            "_meta": {"title": f"LoRA {index + 1}"},
        }
        new_ids.append(node_id)
        model, clip = (node_id, 0), (node_id, 1)
    if new_ids:
        chain = set(new_ids)
        rewire(graph, (checkpoint_id, 0), model, skip=chain)
        rewire(graph, (checkpoint_id, 1), clip, skip=chain)
    return new_ids
