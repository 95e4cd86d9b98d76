"""GRPO objective against hand-computed values (§4.1, Eq. 3) and the paper's gradient coefficient (Table 10)."""

import math

import pytest
import torch

from rl.loss import grpo_loss, k3_kl, token_weights


def test_k3_matches_hand_computation():
    # pi_theta = 0.5, pi_ref = 0.25: ratio 0.5 -> 0.5 - ln 0.5 - 1 = 0.193147...
    kl = k3_kl(torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)]))
    assert kl.item() == pytest.approx(0.5 - math.log(0.5) - 1, abs=1e-7)
    assert kl.item() == pytest.approx(0.1931472, abs=1e-6)


def test_k3_is_zero_at_equal_policies_and_positive_elsewhere():
    logp = torch.log(torch.tensor([0.1, 0.5, 0.9]))
    assert torch.allclose(k3_kl(logp, logp), torch.zeros(3))
    assert (k3_kl(logp, torch.log(torch.tensor([0.3, 0.2, 0.5]))) > 0).all()


def test_clipped_surrogate_hand_values():
    # Three one-token outputs, beta = 0, eps = 0.2:
    #   ratio 1.5, A = +1 -> min(1.5, 1.2) = 1.2
    #   ratio 0.5, A = -1 -> min(-0.5, -0.8) = -0.8
    #   ratio 0.5, A = +1 -> min(0.5, 0.8) = 0.5
    old = torch.zeros(3, 1)
    logp = torch.log(torch.tensor([[1.5], [0.5], [0.5]]))
    adv = torch.tensor([[1.0], [-1.0], [1.0]])
    loss, stats = grpo_loss(logp, old, None, adv, torch.ones(3, 1), clip_eps=0.2, beta=0.0)
    assert loss.item() == pytest.approx(-(1.2 - 0.8 + 0.5) / 3, abs=1e-6)
    assert stats.clip_frac == pytest.approx(2 / 3)
    assert stats.ratio_mean == pytest.approx((1.5 + 0.5 + 0.5) / 3)


def test_sequence_mean_then_output_mean_with_kl():
    # Output 1 has two tokens, output 2 one real token and one padding token.
    # ratio = 1 everywhere (mu = 1), A1 = 0.5, A2 = -0.5, beta = 0.1,
    # KL per token: pi_ref/pi = 0.5 on token (1,1) else 1 -> k3 = 0.193147 or 0.
    logp = torch.log(torch.tensor([[0.4, 0.2], [0.3, 0.9]]))
    ref = torch.log(torch.tensor([[0.2, 0.2], [0.3, 0.1]]))
    adv = torch.tensor([[0.5, 0.5], [-0.5, 0.0]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    loss, stats = grpo_loss(logp, logp.detach(), ref, adv, mask, clip_eps=0.2, beta=0.1)
    k = 0.5 - math.log(0.5) - 1
    out1 = ((0.5 - 0.1 * k) + 0.5) / 2
    out2 = -0.5
    assert loss.item() == pytest.approx(-(out1 + out2) / 2, abs=1e-6)
    assert stats.kl == pytest.approx(k / 3, abs=1e-6)  # mean over the 3 real tokens


def test_gradient_is_the_papers_gradient_coefficient():
    # Table 10: GC_GRPO = A_it + beta * (pi_ref / pi_theta - 1), weighted by 1/|o_i| and 1/B.
    logp = torch.log(torch.tensor([[0.4, 0.2, 0.7], [0.3, 0.6, 0.5]])).requires_grad_(True)
    ref = torch.log(torch.tensor([[0.2, 0.3, 0.7], [0.6, 0.6, 0.1]]))
    adv = torch.tensor([[0.8, 0.8, 0.8], [-0.8, -0.8, -0.8]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    beta = 0.04
    loss, _ = grpo_loss(logp, logp.detach(), ref, adv, mask, clip_eps=0.2, beta=beta)
    loss.backward()
    gc = adv + beta * (torch.exp(ref - logp.detach()) - 1)
    expected = -gc * mask / mask.sum(-1, keepdim=True) / 2
    assert torch.allclose(logp.grad, expected, atol=1e-6)


def test_sequence_mean_weights_ignore_padding():
    values = torch.tensor([[1.0, 3.0, 100.0]])
    weights = token_weights(torch.tensor([[1.0, 1.0, 0.0]]), "sequence_mean")  # the paper's 1/|o_i|, one output
    assert (weights * values).sum().item() == 2.0


def test_beta_without_reference_is_an_error():
    x = torch.zeros(1, 1)
    with pytest.raises(ValueError, match="reference"):
        grpo_loss(x, x, None, x, torch.ones(1, 1), clip_eps=0.2, beta=0.1)


def test_aggregation_switches_hand_values():
    # per-token objective (ratio 1, beta 0) = advantages: output 1 [1, 3], output 2 [6, pad].
    adv = torch.tensor([[1.0, 3.0], [6.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    logp = torch.zeros(2, 2)
    def loss(how):
        return grpo_loss(logp, logp, None, adv, mask, 0.2, 0.0, how)[0].item()
    assert loss("sequence_mean") == pytest.approx(-((1 + 3) / 2 + 6) / 2)  # paper: -4.0
    assert loss("token_mean") == pytest.approx(-(1 + 3 + 6) / 3)  # DAPO
    assert loss("constant_length") == pytest.approx(-((1 + 3) / 2 + 6 / 2) / 2)  # Dr. GRPO, T = 2
    with pytest.raises(ValueError, match="loss_aggregation"):
        loss("nope")


def test_token_weights_hand_values_and_micro_batches_sum_to_the_batch_loss():
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    assert torch.allclose(token_weights(mask, "sequence_mean"), torch.tensor([[0.25, 0.25], [0.5, 0.0]]))
    assert torch.allclose(token_weights(mask, "token_mean"), mask / 3)
    assert torch.allclose(token_weights(mask, "constant_length"), mask / 4)
    adv = torch.tensor([[1.0, 3.0], [6.0, 0.0]])
    logp = torch.zeros(2, 2)
    w = token_weights(mask, "sequence_mean")
    whole = grpo_loss(logp, logp, None, adv, mask, 0.2, 0.0)[0]
    # Row 1 trimmed to its one real token, as a micro-batch would be.
    parts = grpo_loss(logp[:1], logp[:1], None, adv[:1], mask[:1], 0.2, 0.0, weights=w[:1])[0] + \
        grpo_loss(logp[1:, :1], logp[1:, :1], None, adv[1:, :1], mask[1:, :1], 0.2, 0.0, weights=w[1:, :1])[0]
    assert parts.item() == pytest.approx(whole.item()) == pytest.approx(-4.0)
