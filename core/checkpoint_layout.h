/* The HDF5 checkpoint layout shared by checkpoint_write.c and
 * checkpoint_read.c (docs/checkpoint.md describes it). */
#ifndef PITH_CORE_CHECKPOINT_LAYOUT_H
#define PITH_CORE_CHECKPOINT_LAYOUT_H

/* the columns of /meta/history, in order */
#define PITH_CKPT_HISTORY_COLUMNS "epoch,lr,train_loss,train_acc,test_loss,test_top1,test_top5,seconds,img_per_s"
#define PITH_CKPT_HISTORY_COLS 9

#endif
