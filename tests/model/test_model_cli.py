"""``neurobolt model import`` and ``neurobolt model info`` on the reference checkpoint."""
from __future__ import annotations

import numpy as np

from neurobolt.cli import main
from neurobolt.model import load_model


def test_import_then_info_then_predict(official_path, reference_io, tmp_path, capsys):
    labels = tmp_path / "labels.tsv"
    # component numbers as in the DiFuMo release (1..64; a label 0 is background, left out)
    labels.write_text("Component\tDifumo_names\n" + "".join(f"{i}\tregion {i}\n" for i in range(1, 65)))
    out = tmp_path / "converted"
    assert main(["model", "import", str(official_path), "--out", str(out),
                 "--roi-names-from", str(labels)]) == 0
    assert "26 channels, 64 ROIs" in capsys.readouterr().out

    assert main(["model", "info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "parameters: 7,919,648" in info
    assert "channels (26): FP1, FP2, F3" in info
    assert "ROIs (64): region 1, region 2" in info

    model = load_model(out)
    y = model.predict(reference_io["eeg_uV"].numpy(), reference_io["ch_names"])
    np.testing.assert_allclose(y, reference_io["expected_output"].numpy(), atol=1e-4, rtol=0)


def test_import_with_explicit_channels_and_errors(official_path, tmp_path, capsys):
    names = ",".join(f"C{i}" for i in range(25))  # 25 names for a 26-channel model
    code = main(["model", "import", str(official_path), "--out", str(tmp_path / "x"), "--ch-names", names])
    assert code == 2
    assert "26 channels but --ch-names holds 25 names" in capsys.readouterr().err
    assert main(["model", "info", str(tmp_path / "missing.pth")]) == 2
    assert "does not exist" in capsys.readouterr().err
