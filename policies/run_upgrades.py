"""Old run folders' config.yaml in today's shape: what moved where as the env grew (action and command
terms, goal events that became commands, SkillBench objects that became scene entities, confined-3D
events). `read_config` applies `upgrade_env_config` to every run folder it reads, so a run trained before
a change still plays, evaluates, exports and resumes; the new shape passes through unchanged.
"""

from __future__ import annotations

from typing import Any


def _run_error(message: str) -> Exception:
    from robolearn.policies.runs import RunError  # runs imports this module: import at use

    return RunError(message)


OLD_ACTION_KEYS = {"scale", "clip", "joint_names"}
OLD_COMMAND_KEYS = {"lin_vel_x", "lin_vel_y", "ang_vel_z"}
_SKILLS = "robolearn.envs.humanoid.h1_skills"
_BENCH = "robolearn.envs.humanoid.h1_skillbench"
_OBJECTS = "robolearn.envs.humanoid.h1_skillbench_objects"
GOAL_EVENTS_NOW_COMMANDS: dict[str, tuple[str, dict[str, str], str | None]] = {
    f"{_SKILLS}:sample_squat_goal": ("pelvis_height", {"height_range": "height_range"}, None),
    f"{_SKILLS}:sample_reach_goal": ("wrist_targets", {"radius": "radius"}, None),
    f"{_SKILLS}:sample_step_goal": ("foot_targets", {"radius": "radius"}, None),
    f"{_BENCH}:place_button": ("button", {"y_range": "y", "z_range": "z"}, None),
    f"{_BENCH}:place_reach_waypoint": ("waypoints", {}, None),
    f"{_BENCH}:place_box": ("box_goal", {}, f"{_BENCH}:place_box"),
    f"{_OBJECTS}:reset_lift": ("goal", {}, f"{_OBJECTS}:place_package"),
    f"{_OBJECTS}:reset_carry": ("goal", {}, f"{_OBJECTS}:place_package"),
    f"{_OBJECTS}:reset_transfer": ("goal", {}, f"{_OBJECTS}:place_package"),
    f"{_OBJECTS}:reset_ball": ("goal", {}, f"{_OBJECTS}:reset_ball"),
    f"{_OBJECTS}:reset_door": ("door_target", {}, f"{_OBJECTS}:reset_door"),
}
"""Event terms that drew a goal, now command terms: old function -> (command name, event param -> command
field, the function the event keeps calling to place its object, or None: the event is dropped). An interval
event's `interval_range_s` becomes the command's `resampling_time_s`; the command's other fields take the
task's defaults."""
OBJECT_JOINTS_NOW_ENTITIES = {
    "skillbench/box_free": "box",
    "skillbench/package_free": "package",
    "skillbench/ball_free": "ball",
}
"""SkillBench objects that were free bodies of a terrain kind, named by their free joint, now scene entities."""
OBJECT_TERRAINS = {"skillbench_box", "skillbench_package", "skillbench_transfer", "skillbench_ball",
                   "skillbench_cabinet"}  # fmt: skip
"""Terrain kinds whose objects moved to the task's scene entities."""


def upgrade_env_config(env: Any) -> Any:
    """Rewrite an env config written before named action and command terms into today's shape, so old run
    folders (and packed skills) still load over the task's current default:

    - `actions: {scale, clip, joint_names}` (one joint-position term) -> `actions: {joint_pos: {...}}`
    - `commands: {lin_vel_x, ...}` (one velocity command) -> `commands: {base_velocity: {...}}`
    - `commands: null` (no commands) -> `commands: {}`
    - events drawing a goal (`GOAL_EVENTS_NOW_COMMANDS`: a skill's `goal_reset` / `goal_resample`, a
      SkillBench task's placement events) -> `commands: {<goal command>: {...}}` with their params and
      resample interval; the event is dropped, or keeps placing its object when it placed one
    - SkillBench objects that were free bodies of a terrain kind: an empty `scene.entities` with such a
      `scene.terrain.kind` is dropped (the task's entities apply), and a term param `joint: <the object's
      free joint>` becomes `entity: <its entity>` (`OBJECT_JOINTS_NOW_ENTITIES`)
    A config already in the new shape is returned unchanged.
    """
    if not isinstance(env, dict):
        return env
    env = dict(env)
    actions = env.get("actions")
    if isinstance(actions, dict) and actions and set(actions) <= OLD_ACTION_KEYS:
        env["actions"] = {"joint_pos": dict(actions)}
    if "commands" in env and env["commands"] is None:
        env["commands"] = {}
    commands = env.get("commands")
    if isinstance(commands, dict) and OLD_COMMAND_KEYS & set(commands):
        env["commands"] = {"base_velocity": dict(commands)}
    events = env.get("events")
    if isinstance(events, dict) and any(_moved_goal(e) for e in events.values()):
        if not isinstance(env.get("commands") or {}, dict):
            raise _run_error(f"commands: expected a mapping, got {env['commands']!r}")
        env["events"], commands = {}, dict(env.get("commands") or {})
        for key, event in events.items():
            moved = _moved_goal(event)
            if moved is None:
                env["events"][key] = event
                continue
            name, fields, keep = moved
            if keep is not None:
                env["events"][key] = {**event, "func": keep, "params": {}}
            params = event.get("params") or {}
            if not isinstance(params, dict) or not isinstance(commands.get(name) or {}, dict):
                raise _run_error(f"events.{key}.params: expected a mapping, got {params!r}")
            command = commands[name] = dict(commands.get(name) or {})
            command.update({fields[p]: v for p, v in params.items() if p in fields})
            unknown = sorted(set(params) - set(fields))
            if unknown:
                raise _run_error(f"events.{key}: params {unknown} of {event['func']} have no place in the "
                               f"command {name!r} that replaced it (it takes {sorted(fields.values())})")  # fmt: skip
            if event.get("mode") == "interval" and event.get("interval_range_s") is not None:
                command["resampling_time_s"] = event["interval_range_s"]
        env["commands"] = commands
    scene = env.get("scene")
    if isinstance(scene, dict) and not scene.get("entities") and "entities" in scene:
        kind = (scene.get("terrain") or {}).get("kind") if isinstance(scene.get("terrain"), dict) else None
        if kind in OBJECT_TERRAINS:  # the task's default entities (its objects) apply
            env["scene"] = {k: v for k, v in scene.items() if k != "entities"}
    for group in ("rewards", "terminations", "events"):
        if isinstance(env.get(group), dict):
            env[group] = {k: _entity_params(t) for k, t in env[group].items()}
    if isinstance(env.get("observations"), dict):
        env["observations"] = {
            g: {**obs, "terms": {k: _entity_params(t) for k, t in obs["terms"].items()}}
            if isinstance(obs, dict) and isinstance(obs.get("terms"), dict) else obs
            for g, obs in env["observations"].items()
        }  # fmt: skip
    return _upgrade_confined_events(env)


_CONFINED = "robolearn.envs.locomotion.confined3d.task:"


def _upgrade_confined_events(env: dict) -> dict:
    """Confined-3D runs written when its waypoints and latency were startup events: the waypoint settings
    become `commands.waypoints`, the latency's `delay_steps` a field of its (delayed) joint-position term."""
    events = env.get("events")
    if not isinstance(events, dict):
        return env
    funcs = {k: v.get("func") for k, v in events.items() if isinstance(v, dict)}
    if not any(f in (_CONFINED + "init_waypoints", _CONFINED + "action_latency") for f in funcs.values()):
        return env
    events, commands = dict(events), dict(env.get("commands") or {})
    actions = {k: dict(v) if isinstance(v, dict) else v for k, v in (env.get("actions") or {}).items()}
    for key, func in funcs.items():
        params = events[key].get("params") or {}
        if func == _CONFINED + "init_waypoints":
            commands["waypoints"] = dict(params.get("cfg") or {})
        elif func == _CONFINED + "action_latency":
            term = params.get("term", "joint_pos")
            if term in actions:
                actions[term]["delay_steps"] = params["delay_steps"]
        elif func != _CONFINED + "reset_waypoints":
            continue
        del events[key]
    return dict(env, events=events, commands=commands, actions=actions)


def _entity_params(term: Any) -> Any:
    """A term whose `joint` param named a SkillBench object's free joint names its entity instead."""
    params = term.get("params") if isinstance(term, dict) else None
    if not isinstance(params, dict) or params.get("joint") not in OBJECT_JOINTS_NOW_ENTITIES:
        return term
    new = {k: v for k, v in params.items() if k != "joint"}
    return {**term, "params": {"entity": OBJECT_JOINTS_NOW_ENTITIES[params["joint"]], **new}}


def _moved_goal(event: Any) -> tuple[str, dict[str, str], str | None] | None:
    func = event.get("func") if isinstance(event, dict) else None
    return GOAL_EVENTS_NOW_COMMANDS.get(func) if isinstance(func, str) else None


# -- run folders -----------------------------------------------------------------------------------
