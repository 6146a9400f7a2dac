"""BiDex learners: IPPO / joint-actor state teachers, the point-cloud student (DAgger), the demo command."""
