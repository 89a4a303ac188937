/* tta.h - the views of test-time augmentation that evaluation (train.c)
 * builds per image. */
#ifndef CLNET_NN_TTA_H
#define CLNET_NN_TTA_H

#include "clnet/nn.h"

/* out (c x h x w) = the image `in` shifted so that out(y, x) = in(y + dy,
 * x + dx), then mirrored left-right when flip; outside the image: its
 * reflection (reflect) or zero. */
void nn_tta_view(const float *in, float *out, int c, int h, int w, int dy, int dx, bool flip,
                 bool reflect);

/* The views an evaluation's options ask for: opts->tta, else
 * multi_crop_pad's clnet_tta_crops, else the image alone. */
clnet_tta nn_tta_resolve(const clnet_train_opts *opts);

#endif
