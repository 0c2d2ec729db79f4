//! Building: calling the factories of a plan, innermost application first,
//! then each filter around it, first of a pipeline outermost.
//!
//! After each factory returns, every key of its section must have been
//! read. A composite's factory loads its parts through [`Parts`], which asks
//! the planner for each one and builds it; when a part fails, `Parts` keeps
//! that part's [`ConfigError`] and hands the factory an opaque
//! [`FactoryError::PartFailed`], so the error that reaches the caller is
//! the part's own, pointing at the part.

use crate::factory::CompositeLoader;
use crate::plan::{Body, FilterPlan, Plan, Planner};
use crate::{ConfigError, FactoryConfig, FactoryError};

/// Builds plans, resolving composites' parts as it goes.
pub(crate) struct Builder<'r, S> {
    planner: Planner<'r, S>,
}

impl<'r, S> Builder<'r, S> {
    pub(crate) fn new(planner: Planner<'r, S>) -> Self {
        Builder { planner }
    }

    /// Builds the application `plan` describes, filters and all.
    pub(crate) fn build_app(&mut self, plan: &Plan<S>) -> Result<S, ConfigError> {
        let app = match &plan.body {
            Body::App {
                name,
                factory,
                local,
            } => {
                let config = FactoryConfig::new(name.clone(), plan.global.clone(), local.clone());
                let app = factory(&config).map_err(|e| config.refused(&plan.origin, e, None))?;
                config.check_all_read()?;
                app
            }
            Body::Composite {
                name,
                factory,
                local,
            } => {
                let config = FactoryConfig::new(name.clone(), plan.global.clone(), local.clone());
                // The composite stays on the planner's stack while it
                // loads its parts, so a part that leads back to it is a
                // loop, not an endless recursion.
                self.planner.enter(&plan.origin, &plan.origin)?;
                let mut parts = Parts {
                    builder: self,
                    plan,
                    failed: None,
                };
                let app = factory(&mut parts, &config);
                let failed = parts.failed.take();
                self.planner.leave();
                let app = app.map_err(|e| config.refused(&plan.origin, e, failed))?;
                config.check_all_read()?;
                app
            }
            Body::Pipeline { filters, app } => {
                let mut app = self.build_app(app)?;
                for filter in filters.iter().rev() {
                    app = apply_filter(filter, app)?;
                }
                app
            }
            Body::FilterApp { filter, next } => {
                let next = self.build_app(next)?;
                apply_filter(filter, next)?
            }
        };
        plan.filter_with
            .iter()
            .try_fold(app, |app, filter| apply_filter(filter, app))
    }
}

/// Wraps `app` in the filter `plan` describes.
fn apply_filter<S>(plan: &FilterPlan<S>, app: S) -> Result<S, ConfigError> {
    let config = FactoryConfig::new(plan.name.clone(), plan.global.clone(), plan.local.clone());
    let app = (plan.factory)(&config, app).map_err(|e| config.refused(&plan.origin, e, None))?;
    config.check_all_read()?;
    Ok(app)
}

/// The [`CompositeLoader`] a composite's factory gets.
struct Parts<'b, 'r, S> {
    builder: &'b mut Builder<'r, S>,
    /// The composite's plan: its file, global configuration and keys.
    plan: &'b Plan<S>,
    /// The error of the last part that failed, which the composite's
    /// failure stands for.
    failed: Option<ConfigError>,
}

impl<S> CompositeLoader<S> for Parts<'_, '_, S> {
    fn load_app(&mut self, key: &str, name: &str) -> Result<S, FactoryError> {
        // Errors about the part point at the key that names it.
        let at = match &self.plan.body {
            Body::Composite { local, .. } => local
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, setting)| setting.origin.clone()),
            _ => None,
        }
        .unwrap_or_else(|| self.plan.origin.clone());
        let built = self
            .builder
            .planner
            .resolve_app(&self.plan.file, name, &self.plan.global, &at)
            .and_then(|part| self.builder.build_app(&part));
        built.map_err(|error| {
            self.failed = Some(error);
            FactoryError::PartFailed
        })
    }
}
