/* Losses. Each returns the mean loss over the batch and writes (=, not +=)
 * its gradient with respect to the predictions, ready for backward. */
#ifndef PITH_LOSS_H
#define PITH_LOSS_H

/* Fused softmax + cross-entropy over logits [n, k]; labels in [0, k).
 * Label smoothing eps: target = (1 - eps) * onehot + eps / k (PyTorch's
 * definition). grad may be NULL. Returns NAN if a label is out of range. */
double pith_softmax_cross_entropy(const float *logits, const int *labels, int n, int k,
                                  float label_smoothing, float *grad);

/* Mean squared error over n*d elements: mean((y - t)^2). grad may be NULL. */
double pith_mse(const float *y, const float *target, int n, int d, float *grad);

#endif
