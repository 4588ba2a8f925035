"""Parse Pacemaker's own view of the cluster: `crm_mon -1 --output-as=xml`.

    <pacemaker-result api-version="2.x" request="crm_mon -1 --output-as=xml">
      <nodes>
        <node name="loadb1" id="1" online="true" standby="false" ... resources_running="3" .../>
      </nodes>
      <resources>
        <group id="lvs" number_resources="3" ...>
          <resource id="ldirectord" resource_agent="ocf:heartbeat:ldirectord" role="Started" ...>
            <node name="loadb1" id="1" cached="true"/>
          </resource>
          ...

Only what the lab reads: which nodes are online, and where each resource of the group runs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    id: str
    role: str                 # Started, Stopped, Starting, Stopping ...
    nodes: tuple[str, ...]    # where it runs


@dataclass(frozen=True)
class ClusterView:
    answered: bool                      # crm_mon reached the cluster (pacemaker runs on this node)
    online: dict[str, bool]             # node name -> online
    group: tuple[Resource, ...]         # the resources of the group, in order

    def runs_all(self, node: str) -> bool:
        return bool(self.group) and all(r.role == "Started" and r.nodes == (node,) for r in self.group)

    def runs_none(self, node: str) -> bool:
        return all(node not in r.nodes for r in self.group)


def parse_crm_mon(text: str, group: str = "lvs") -> ClusterView:
    start = text.find("<pacemaker-result")
    if start < 0:
        return ClusterView(False, {}, ())  # "crm_mon: Error: cluster is not available on this node", ...
    root = ET.fromstring(text[start:text.index("</pacemaker-result>") + len("</pacemaker-result>")])
    online = {n.get("name", ""): n.get("online") == "true" for n in root.iter("node") if n.get("online")}
    found = next((g for g in root.iter("group") if g.get("id") == group), None)
    resources = tuple(Resource(r.get("id", ""), r.get("role", ""), tuple(n.get("name", "") for n in r.iter("node")))
                      for r in (found.iter("resource") if found is not None else ()))
    return ClusterView(True, online, resources)
