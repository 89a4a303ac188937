/* scale_model.c - ring all-reduce and step-time arithmetic of `clnet-bench
 * scale` (see scale_model.h). */
#include "scale_model.h"

double scale_allreduce_ms(double bytes, int p, const scale_network *net)
{
    if (p <= 1)
        return 0;
    double steps = 2.0 * (p - 1);
    return 1e3 * (steps * net->alpha_s + steps / p * bytes / net->beta_bytes_per_s);
}

static double backward_ms(const scale_step *s)
{
    double ms = 0;
    for (int i = 0; i < s->nlayers; i++)
        ms += s->layers[i].backward_ms;
    return ms;
}

double scale_compute_ms(const scale_step *s)
{
    return s->forward_ms + backward_ms(s) + s->step_ms;
}

double scale_step_ms(const scale_step *s, int p, const scale_network *net, bool bucketed,
                     double *comm_ms, double *exposed_ms)
{
    double backward_end = s->forward_ms + backward_ms(s), comm = 0, link_free = backward_end;
    if (!bucketed) {
        double bytes = 0;
        for (int i = 0; i < s->nlayers; i++)
            bytes += s->layers[i].grad_bytes;
        comm = scale_allreduce_ms(bytes, p, net);
        link_free = backward_end + comm;
    } else {
        double t = s->forward_ms, bucket = 0;
        link_free = 0;
        for (int i = s->nlayers - 1; i >= 0; i--) {
            t += s->layers[i].backward_ms;
            bucket += s->layers[i].grad_bytes;
            if (bucket > 0 && (bucket >= net->bucket_bytes || i == 0)) {
                double ms = scale_allreduce_ms(bucket, p, net);
                link_free = (t > link_free ? t : link_free) + ms;
                comm += ms;
                bucket = 0;
            }
        }
        if (link_free < backward_end)
            link_free = backward_end;
    }
    if (comm_ms)
        *comm_ms = comm;
    if (exposed_ms)
        *exposed_ms = link_free - backward_end;
    return link_free + s->step_ms;
}
