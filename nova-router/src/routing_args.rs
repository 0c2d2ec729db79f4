//! The router's hand-off to the application: the matched action and its
//! path parameters, stored in the request's extensions by
//! [`RoutesMiddleware`](crate::RoutesMiddleware) and read by the controller.

/// What the router matched for a request, stored in the request's extensions.
///
/// This is nova-rs's `wsgiorg.routing_args`: the action name of the matched
/// route and the path parameters by name, already percent-decoded. The
/// application reads it instead of parsing the path itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingArgs {
    action: String,
    params: Vec<(String, String)>,
}

impl RoutingArgs {
    /// Routing arguments for an action and its path parameters.
    ///
    /// The router is what builds these for real requests; this constructor is
    /// for calling an application directly, in tests or from another router.
    pub fn new(action: impl Into<String>, params: Vec<(String, String)>) -> Self {
        RoutingArgs {
            action: action.into(),
            params,
        }
    }

    /// The action name the matched route was connected with.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The decoded value of the path parameter `name`, if the route has one.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Adds a parameter matched outside the route's own template (a
    /// project mapper's leading project id).
    pub(crate) fn push_param(&mut self, name: &str, value: &str) {
        self.params.push((name.to_owned(), value.to_owned()));
    }

    /// All path parameters, in the order they appear in the template.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
