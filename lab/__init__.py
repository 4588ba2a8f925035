"""lvs-ha-lab: the tutorial's load-balanced HA Apache cluster, built for real and checked by pytest.

Layout (one place each):
  lab/cluster.py      what the tutorial builds (topology and stack, as data from cluster.json)
  lab/providers/      how a node exists (netns on real IPVS; Vagrant VMs)
  lab/runtime/        which kernel runs the lab (this one, or a Debian microVM)
  lab/provision/      how a node is configured (the tutorial's chapters as shell scripts)
  lab/checks/         how state is read (typed parsers of ipvsadm, ip, ldirectord, sync daemon)
  lab/report.py       what the run shows (tutorial reproduction report, evidence)
  scenarios/          what must hold (the tutorial's chapters 5-7 as pytest)
"""
