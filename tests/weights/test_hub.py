"""Weights by name (`skeleton_zoo.weights.hub`): download, verify, cache and
convert, against a local HTTP server on 127.0.0.1 and local mirror folders;
nothing here touches the network."""

import dataclasses
import hashlib
import http.server
import json
import pathlib
import shutil
import threading

import keras
import numpy as np
import pytest

import skeleton_zoo
from conftest import backend_independent
from skeleton_zoo import registry
from skeleton_zoo.cli import listing
from skeleton_zoo.weights import checkpoint, hub, parse_weights_argument

pytestmark = backend_independent  # downloading and caching do not depend on the backend

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures"
GAST_FILE = FIXTURES / "gast" / "gast_h36m17_w333_c16.zip.bin"  # gast_27 at channels=16
GAST_OPTIONS = {"channels": 16}
X = np.random.default_rng(0).normal(size=(1, 27, 17, 2)).astype("float32")


def outputs(model):
    return keras.ops.convert_to_numpy(model(X, training=False))


@pytest.fixture(autouse=True)
def zoo_home(tmp_path, monkeypatch):
    monkeypatch.setenv(hub.HOME_VARIABLE, str(tmp_path / "home"))
    monkeypatch.delenv(hub.MIRROR_VARIABLE, raising=False)
    return tmp_path / "home"


class FileServer:
    """Serves `files` (URL path -> bytes) on 127.0.0.1 with HTTP Range
    requests; `cut_first` cuts the first response after that many bytes.
    `requests` logs (path, Range header)."""

    def __init__(self):
        self.files, self.requests, self.cut_first = {}, [], None
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if server.cut_first is not None:
                    body, server.cut_first = body[:server.cut_first], None
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FileServer()
    yield s
    s.close()


def point_catalogue(monkeypatch, name, base_url):
    """The preset's catalogue URLs rewritten to `base_url`/<file>."""
    preset = registry.get_preset(name)
    entries = tuple(dataclasses.replace(w, url=f"{base_url}/{w.file}", mirrors=()) for w in preset.official_weights)
    monkeypatch.setitem(registry._PRESETS, name, dataclasses.replace(preset, official_weights=entries))


def cached_files(home):
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())


def test_first_download_shows_progress_and_second_load_makes_no_request(server, monkeypatch, zoo_home, capfd):
    server.files["/27_frame_model.bin"] = GAST_FILE.read_bytes()
    point_catalogue(monkeypatch, "gast_27", server.url)
    expected = outputs(skeleton_zoo.load("gast_27", weights=str(GAST_FILE), **GAST_OPTIONS))

    first = skeleton_zoo.load("gast_27", weights="h36m_cpn", **GAST_OPTIONS)
    np.testing.assert_array_equal(outputs(first), expected)
    err = capfd.readouterr().err
    assert "Downloading '27_frame_model.bin'" in err and "100%" in err
    assert len(server.requests) == 1
    records = json.loads((zoo_home / "weights" / "sha256.json").read_text())
    assert records["gast/27_frame_model.bin"]["sha256"] == hashlib.sha256(GAST_FILE.read_bytes()).hexdigest()

    # The second load reads the converted .weights.h5: no request, no checkpoint parsing.
    monkeypatch.setattr(checkpoint, "load_state_dict", lambda *a, **k: pytest.fail("checkpoint read again"))
    second = skeleton_zoo.load("gast_27", weights="official", **GAST_OPTIONS)
    np.testing.assert_array_equal(outputs(second), expected)
    assert len(server.requests) == 1
    assert [f for f in cached_files(zoo_home) if f.startswith("converted/gast_27/h36m_cpn-")]


def test_interrupted_download_resumes_where_it_stopped(server, monkeypatch, zoo_home):
    data = GAST_FILE.read_bytes()
    server.files["/27_frame_model.bin"] = data
    server.cut_first = 550_000  # past gdown's first 512 KiB chunk, which it keeps
    point_catalogue(monkeypatch, "gast_27", server.url)
    model = skeleton_zoo.load("gast_27", weights="h36m_cpn", **GAST_OPTIONS)
    np.testing.assert_array_equal(outputs(model), outputs(skeleton_zoo.load("gast_27", weights=str(GAST_FILE),
                                                                           **GAST_OPTIONS)))
    assert server.requests[0][1] is None
    assert server.requests[-1][1] == f"bytes={512 * 1024}-", server.requests
    assert (zoo_home / "weights" / "gast" / "27_frame_model.bin").read_bytes() == data


def test_changed_download_is_refused_with_both_hashes_and_not_kept(server, monkeypatch, zoo_home):
    data = GAST_FILE.read_bytes()
    server.files["/27_frame_model.bin"] = data
    point_catalogue(monkeypatch, "gast_27", server.url)
    skeleton_zoo.load("gast_27", weights="h36m_cpn", **GAST_OPTIONS)
    shutil.rmtree(zoo_home / "weights" / "gast")
    shutil.rmtree(zoo_home / "converted")
    corrupt = data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
    server.files["/27_frame_model.bin"] = corrupt
    with pytest.raises(hub.WeightsDownloadError) as error:
        skeleton_zoo.load("gast_27", weights="h36m_cpn", **GAST_OPTIONS)
    message = str(error.value)
    assert f"{server.url}/27_frame_model.bin" in message
    assert hashlib.sha256(corrupt).hexdigest() in message and hashlib.sha256(data).hexdigest() in message
    assert cached_files(zoo_home) == ["weights/sha256.json"]


def test_pinned_hash_mismatch_is_refused(server, monkeypatch, zoo_home):
    bogus = (FIXTURES / "sttr" / "sttr_spatial_joint_small.pt").read_bytes()
    server.files["/ntu60_xsub_spatial.pt"] = bogus
    point_catalogue(monkeypatch, "st_tr_spatial_joint", server.url)
    with pytest.raises(hub.WeightsDownloadError, match=r"git object id [0-9a-f]{40}, but the catalogue pins "
                                                       r"8cbf1e3da7a02dfd1c969b446b9067103f7b2c90"):
        skeleton_zoo.load("st_tr_spatial_joint", weights="ntu60_xsub")
    assert cached_files(zoo_home) == []


def test_mirror_folder_serves_the_official_name(tmp_path, monkeypatch, zoo_home):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copyfile(GAST_FILE, mirror / "27_frame_model.bin")
    monkeypatch.setenv(hub.MIRROR_VARIABLE, str(mirror))
    model = skeleton_zoo.load("gast_27", weights="official", **GAST_OPTIONS)
    np.testing.assert_array_equal(outputs(model), outputs(skeleton_zoo.load("gast_27", weights=str(GAST_FILE),
                                                                           **GAST_OPTIONS)))
    # Used in place: the mirror file is not copied into the cache.
    assert not (zoo_home / "weights" / "gast" / "27_frame_model.bin").exists()

    # A file whose content does not match a pinned hash is refused.
    shutil.copyfile(GAST_FILE, mirror / "ntu60_xsub_spatial.pt")
    with pytest.raises(hub.WeightsDownloadError, match="catalogue pins 8cbf1e3d"):
        skeleton_zoo.load("st_tr_spatial_joint", weights="official")


def test_mirror_url_replaces_every_host(server, monkeypatch):
    server.files["/27_frame_model.bin"] = GAST_FILE.read_bytes()
    monkeypatch.setenv(hub.MIRROR_VARIABLE, server.url + "/")
    skeleton_zoo.load("gast_27", weights="h36m_cpn", **GAST_OPTIONS)
    assert [path for path, _ in server.requests] == ["/27_frame_model.bin"]


def test_without_network_the_error_says_what_to_fetch_and_where_to_put_it(monkeypatch, zoo_home):
    closed = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{closed.server_address[1]}"
    closed.server_close()
    point_catalogue(monkeypatch, "gast_27", url)
    with pytest.raises(hub.WeightsDownloadError) as error:
        skeleton_zoo.load("gast_27", weights="h36m_cpn", **GAST_OPTIONS)
    message = str(error.value)
    assert "'27_frame_model.bin'" in message and f"published at {url}/27_frame_model.bin" in message
    assert str(zoo_home / "weights" / "gast" / "27_frame_model.bin") in message
    assert hub.MIRROR_VARIABLE in message
    assert cached_files(zoo_home) == []


def test_folder_shares_are_not_fetched_but_explained(zoo_home):
    with pytest.raises(hub.WeightsDownloadError, match=r"(?s)drive/folders/.*a folder share.*put it at .*"
                                                       r"27_frame_model_causal\.bin"):
        skeleton_zoo.load("gast_27_causal", weights="h36m_cpn", channels=16)


def test_tag_options_apply_and_a_contradiction_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"weights='ntu120_xsub'.*need num_classes=120.*found num_classes=60"):
        skeleton_zoo.load("st_tr_spatial_joint", weights="ntu120_xsub", num_classes=60)
    with pytest.raises(ValueError, match=r"'ntu61_xsub' is neither a file nor one of its tags \['ntu60_xsub'"):
        skeleton_zoo.load("st_tr_spatial_joint", weights="ntu61_xsub")
    with pytest.raises(ValueError, match="no official weights"):
        skeleton_zoo.load("gast_243", weights="official")


def test_ensemble_tag_fetches_one_file_per_stream(tmp_path, monkeypatch):
    """stgcn_pp_4s "ntu60_xsub_3d": the four stream files, with the tag's layout."""
    data = np.load(FIXTURES / "pyskl" / "stgcnpp_ntu_small.npz")
    config = json.loads(str(data["config"]))
    backbone = config["backbone_args"]
    options = {"num_classes": config["head_args"]["num_classes"],
               **{k: backbone[k] for k in ("base_channels", "num_stages", "inflate_stages", "down_stages")
                  if k in backbone}}
    mirror = tmp_path / "mirror" / "stgcnpp_ntu60_xsub_3dkp"
    mirror.mkdir(parents=True)
    for stream in ("j", "b", "jm", "bm"):
        shutil.copyfile(FIXTURES / "pyskl" / "stgcnpp_ntu_small.pth", mirror / f"{stream}.pth")
    monkeypatch.setenv(hub.MIRROR_VARIABLE, str(mirror.parent))
    model = skeleton_zoo.load("stgcn_pp_4s", weights="ntu60_xsub_3d", **options)
    by_path = skeleton_zoo.load("stgcn_pp_4s", weights={s: str(mirror / f"{s}.pth") for s in ("j", "b", "jm", "bm")},
                                layout="ntu25", **options)
    for stream in ("j", "b", "jm", "bm"):
        for a, b in zip(model.streams[stream].weights, by_path.streams[stream].weights):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_catalogue_pins_the_published_st_tr_object_ids():
    """Every ST-TR file carries the upstream git object id of the reference list."""
    reference = json.loads((FIXTURES / "reference" / "official_weights.json").read_text())
    pinned = {w.file: w.git_blob_sha1 for name in registry.preset_names()
              for w in registry.get_preset(name).official_weights if w.git_blob_sha1}
    assert pinned == {e["file"]: e["git_blob_sha1"] for e in reference["st_tr"]}
    urls = {w.file: w.url for name in registry.preset_names() for w in registry.get_preset(name).official_weights}
    assert all(urls[e["file"]] == e["url"] for e in reference["st_tr"] + reference["videopose3d"])


def test_convert_command_fetches_a_tag(tmp_path, monkeypatch, capsys):
    from skeleton_zoo.cli.common import run_command

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copyfile(GAST_FILE, mirror / "27_frame_model.bin")
    monkeypatch.setenv(hub.MIRROR_VARIABLE, str(mirror))
    out = tmp_path / "gast.weights.h5"
    assert run_command("convert", ["convert", "--model", "gast_27", "--weights", "official", "--option",
                                   "channels=16", "--out", str(out)]) == 0
    assert "weights='h36m_cpn') (cached)" in capsys.readouterr().out
    np.testing.assert_array_equal(
        outputs(skeleton_zoo.load("gast_27", weights=str(out), **GAST_OPTIONS)),
        outputs(skeleton_zoo.load("gast_27", weights=str(GAST_FILE), **GAST_OPTIONS)))
    assert run_command("convert", ["convert", "--model", "gast_27", "--weights", "h36m_cpm", "--out",
                                   str(tmp_path / "x.weights.h5")]) != 0
    assert "neither a file nor one of its tags ['h36m_cpn', 'h36m_cpn_toe']" in capsys.readouterr().err
    assert not (tmp_path / "x.weights.h5").exists()


def test_tags_on_the_command_line_and_in_the_listing():
    ensemble = registry.get_preset("st_tr_2s_joint")
    assert parse_weights_argument(ensemble, "ntu60_xsub") == "ntu60_xsub"
    assert parse_weights_argument(ensemble, "S.pt,T.pt") == {"spatial": "S.pt", "temporal": "T.pt"}
    assert not hub.available(registry.get_preset("gast_27"))
    text = listing.format_table(registry.list_models(family="sttr"))
    assert "st_tr_spatial_joint: ntu60_xsub (ntu60_xsub_spatial.pt), ntu60_xview (ntu60_xview_spatial.pt)" in text
    assert "st_tr_2s_joint: ntu60_xsub, ntu60_xview, ntu120_xsub (num_classes=120)" in text


def test_hugging_face_url_from_a_local_hub_cache(tmp_path, monkeypatch):
    """motionbert_lite's official file is an hf:// URL: read through huggingface_hub's cache, offline."""
    from huggingface_hub import constants

    data = np.load(FIXTURES / "motionbert" / "motionbert_dst_small.npz")
    args = json.loads(str(data["config"]))["constructor_args"]
    options = {"dim_feat": args["dim_feat"], "dim_rep": args["dim_rep"], "depth": args["depth"],
               "num_heads": args["num_heads"], "mlp_ratio": args["mlp_ratio"], "max_frames": args["maxlen"],
               "att_fuse": args["att_fuse"]}
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--walterzhu--MotionBERT"
    snapshot = repo / "snapshots" / commit / "checkpoint" / "pose3d" / "FT_MB_lite_MB_ft_h36m_global_lite"
    snapshot.mkdir(parents=True)
    source = FIXTURES / "motionbert" / "motionbert_dst_small.bin"
    shutil.copyfile(source, snapshot / "best_epoch.bin")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    x = data["input"]
    model = skeleton_zoo.load("motionbert_lite", weights="official", **options)
    expected = skeleton_zoo.load("motionbert_lite", weights=str(source), **options)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x, training=False)),
                                  keras.ops.convert_to_numpy(expected(x, training=False)))


def test_lift_takes_a_tag(tmp_path, monkeypatch):
    from skeleton_zoo.inference import lift

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copyfile(GAST_FILE, mirror / "27_frame_model.bin")
    monkeypatch.setenv(hub.MIRROR_VARIABLE, str(mirror))
    keypoints = np.random.default_rng(1).uniform(100, 600, size=(30, 17, 2))
    clip = tmp_path / "clip.npz"
    np.savez(clip, keypoints=keypoints.astype(np.float32), width=1280, height=720)
    by_tag = lift.lift_file(clip, "gast_27", weights="h36m_cpn", options=GAST_OPTIONS)
    by_path = lift.lift_file(clip, "gast_27", weights=str(GAST_FILE), options=GAST_OPTIONS)
    np.testing.assert_array_equal(by_tag["poses_3d"], by_path["poses_3d"])


def test_pose_streamer_takes_a_tag(tmp_path, monkeypatch):
    """gast_27_causal's file sits in a Drive folder: by hand, or from a mirror."""
    from skeleton_zoo.inference.streaming import PoseStreamer

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copyfile(GAST_FILE, mirror / "27_frame_model_causal.bin")
    monkeypatch.setenv(hub.MIRROR_VARIABLE, str(mirror))
    frames = np.random.default_rng(2).normal(size=(3, 17, 2)).astype("float32")
    by_tag = PoseStreamer("gast_27_causal", weights="official", jit_compile=False, **GAST_OPTIONS)
    by_path = PoseStreamer("gast_27_causal", weights=str(GAST_FILE), jit_compile=False, **GAST_OPTIONS)
    np.testing.assert_array_equal(np.stack([by_tag.push(f) for f in frames]),
                                  np.stack([by_path.push(f) for f in frames]))
