from wirewatch.core import fingerprint as fp
from wirewatch.core.logic import MemoryDuplicateIndex


def test_article_id_ignores_spacing_case_and_unicode_form():
    a = fp.article_id("Café  Huawei\nverbod")
    assert a == fp.article_id("cafe\u0301 huawei verbod")
    assert len(a) == 16
    assert a != fp.article_id("Café Huawei verbod!")


def test_minhash_is_stable_and_estimates_jaccard():
    words = [f"w{i}" for i in range(300)]
    sig = fp.minhash(words)
    assert sig == fp.minhash(list(words))
    assert len(sig) == fp.NUM_PERM
    edited = words[:150] + ["x", "y", "z"] + words[153:]
    assert fp.similarity(sig, fp.minhash(edited)) > 0.8
    other = [f"v{i}" for i in range(300)]
    assert fp.similarity(sig, fp.minhash(other)) < 0.1


def test_band_keys_find_candidates():
    idx = MemoryDuplicateIndex()
    words = [f"w{i}" for i in range(200)]
    sig = fp.minhash(words)
    idx.add("a", fp.band_keys(sig), sig)
    near = fp.minhash(words[:100] + ["changed"] + words[101:])
    assert [aid for aid, _ in idx.candidates(fp.band_keys(near))] == ["a"]
    far = fp.minhash([f"v{i}" for i in range(200)])
    assert list(idx.candidates(fp.band_keys(far))) == []


def test_vectorised_similarities_match_the_scalar_one():
    a = fp.minhash([f"w{i}" for i in range(100)])
    others = [fp.minhash([f"w{i}" for i in range(k, 100 + k)]) for k in (0, 10, 50, 100)]
    assert fp.similarities(a, others) == [fp.similarity(a, b) for b in others]
    assert fp.similarities(a, []) == []
