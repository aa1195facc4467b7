"""Trajectories follow streets and the paper's speed profiles."""

import numpy as np

from radiomap_assets.domain import trajectories as tr
from radiomap_assets.domain.grid import Grid


def _street_grid():
    grid = Grid.covering((0.0, 0.0, 400.0, 400.0), 5.0)
    walkable = np.zeros(grid.shape, bool)
    walkable[35:45, :] = True  # an east-west street 50 m wide
    walkable[:, 38:42] = True  # a north-south street
    return grid, walkable


def test_complex_trajectory_stops_for_30_s_and_accelerates_at_1_mps2_to_10_mps():
    grid, walkable = _street_grid()
    graph = tr.StreetGraph(grid, walkable)
    traj = tr.complex_trajectory(graph, 380.0, 10.0, np.random.default_rng(0))
    speed = np.linalg.norm(np.diff(traj.xy, axis=0), axis=1) / np.diff(traj.t_s)
    stopped = speed < 1e-6
    assert stopped.sum() * 0.1 >= 29.0  # the 30 s stop (minus sampling edges)
    assert speed.max() > 9.5 and speed.max() < 10.0 + 1e-6
    moving = (speed[:-1] > 0.99) & (speed[1:] > 0.99)  # the stop starts and ends abruptly, as in the paper
    accel = np.diff(speed)[moving] / 0.1
    assert 0.9 < accel.max() < 1.2  # the 1 m/s^2 ramp (+ slack for smoothing at path corners)
    assert (speed > 9.5).sum() * 0.1 > 5.0  # holds the high speed for a while


def test_random_trajectories_stay_on_walkable_cells_with_requested_lengths():
    grid, walkable = _street_grid()
    graph = tr.StreetGraph(grid, walkable)
    trajs = tr.random_trajectories(graph, 5, (200.0, 400.0), 2.0, np.random.default_rng(1))
    for t in trajs:
        iy, ix = grid.cell_index(t.xy)
        assert walkable[iy, ix].mean() > 0.97
        assert 150.0 <= t.length_m <= 410.0
        assert np.all(np.diff(t.t_s) > 0)


def test_uniform_trajectory_moves_at_1_mps():
    grid, walkable = _street_grid()
    graph = tr.StreetGraph(grid, walkable)
    t = tr.uniform_trajectory(graph, 300.0, 10.0, np.random.default_rng(2))
    speed = np.linalg.norm(np.diff(t.xy, axis=0), axis=1) / 0.1
    assert np.median(speed) == np.float64(np.median(speed)) and abs(np.median(speed) - 1.0) < 0.02


def test_uniform_trajectory_goes_along_the_road_and_back():
    """Paper Fig. 5: the uniform walk goes along the main road and back, so every place is passed twice."""
    grid, walkable = _street_grid()
    graph = tr.StreetGraph(grid, walkable)
    t = tr.uniform_trajectory(graph, 300.0, 10.0, np.random.default_rng(2))
    assert np.linalg.norm(t.xy[-1] - t.xy[0]) < 2.0  # back where it started
    half = len(t.xy) // 2
    far = np.linalg.norm(t.xy[half] - t.xy[0])
    assert far > 100.0  # it did go somewhere
    # the way back passes within a metre of every point of the way out
    d = np.linalg.norm(t.xy[:half, None] - t.xy[None, half:], axis=-1).min(axis=1)
    assert np.quantile(d, 0.95) < 1.0


def test_random_trajectories_in_a_region_walk_its_streets_again_and_again():
    """Table II's walks turn inside the campaign's region, so a held-out walk passes places the training walks saw
    (the paper's 10,000 walks cover its site many times over); the whole-site walks leave most streets unseen."""
    from radiomap_assets.experiments import covered_samples

    grid = Grid.covering((0.0, 0.0, 1000.0, 1000.0), 5.0)
    walkable = np.zeros(grid.shape, bool)
    walkable[::20, :] = walkable[:, ::20] = True  # a street every 100 m both ways
    graph = tr.StreetGraph(grid, walkable)
    region = (300.0, 300.0, 600.0, 600.0)

    def held_out_coverage(region_m):
        walks = tr.random_trajectories(graph, 30, (300.0, 500.0), 1.0, np.random.default_rng(3), region_m=region_m)
        return covered_samples([w.xy for w in walks[:2]], [w.xy for w in walks[2:]]).mean(), walks

    covered, walks = held_out_coverage(region)
    xy = np.concatenate([w.xy for w in walks])
    inside = (xy[:, 0] >= 290) & (xy[:, 0] <= 610) & (xy[:, 1] >= 290) & (xy[:, 1] <= 610)
    assert inside.mean() > 0.95  # shortest paths between turning points in a convex region stay in it
    assert covered > 0.9
    assert covered > held_out_coverage(None)[0] + 0.2
    with np.testing.assert_raises(ValueError):
        tr.random_trajectories(graph, 1, (100.0, 200.0), 1.0, np.random.default_rng(0), region_m=(1.0, 1.0, 2.0, 2.0))
