"""The screening loop: the project file and its service (decide, undo, retrain, queue,
status, export), the active learner, query strategies, stopping rules, and the simulation
and benchmark that replay labelled reviews through the same loop."""

from peerscreen._exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "ScreeningError": "store",
        "Decision": "store",
        "ScreeningRecord": "store",
        "Scores": "store",
        "ScreeningProject": "project",
        "ProjectStatus": "status",
        "project_status": "status",
        "stopping_advice": "advice",
        "StoppingSummary": "advice",
        "LabelState": "project",
        "open_project": "project",
        "create_project": "creation",
        "cold_start_scores": "creation",
        "export_frame": "export",
        "ActiveLearner": "learner",
        "QUERY_STRATEGIES": "query",
        "get_query": "query",
        "STOPPING_RULES": "stopping",
        "simulate": "simulation",
        "SimulationResult": "simulation",
    },
)
