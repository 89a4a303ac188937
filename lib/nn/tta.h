/* tta.h - the one view of test-time augmentation that evaluation (train.c)
 * builds per image. */
#ifndef CLNET_NN_TTA_H
#define CLNET_NN_TTA_H

#include "clnet/nn.h"

/* out (c x h x w) = the image `in` shifted so that out(y, x) = in(y + dy,
 * x + dx), then mirrored left-right when flip; outside the image: its
 * reflection (reflect) or zero. */
void nn_tta_view(const float *in, float *out, int c, int h, int w, int dy, int dx, bool flip,
                 bool reflect);

#endif
