package org.trainkit;

/**
 * Called by {@link Trainer#fit} on the calling thread for each step and epoch event. Returning true stops
 * the fit cleanly; an exception thrown here ends it and comes out of fit, with the trainer at the last
 * completed step.
 */
@FunctionalInterface
public interface FitCallback {
  boolean onEvent(FitEvent event) throws Exception;
}
